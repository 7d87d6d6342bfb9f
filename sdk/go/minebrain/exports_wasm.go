package minebrain

import "time"

// The guest exports of sdk/ABI.md. They live here so that a plugin author
// writes no ABI code: the plugin's main package only calls Register.

//go:wasmexport mb_abi_version
func mbABIVersion() int32 { return ABIVersion }

//go:wasmexport mb_init
func mbInit() int32 { return runInit() }

//go:wasmexport mb_tick
func mbTick(nowNS int64) int32 { return runTick(time.Unix(0, nowNS).UTC()) }
