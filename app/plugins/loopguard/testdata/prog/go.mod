module minebrain.test/loopguardprog

go 1.26
