module crusher-control

go 1.26

require minebrain.dev/sdk v0.0.0

replace minebrain.dev/sdk => ../../sdk/go
