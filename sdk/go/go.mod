module minebrain.dev/sdk

go 1.26
