package minebrain

import "unsafe"

// The host functions of module "minebrain" (sdk/ABI.md, version 1).
//
// A Go string parameter is passed as two i32s (pointer, length) and an
// unsafe.Pointer as one i32, exactly the (ptr, len) pairs of the ABI. Every
// result is the ABI's i32 result code: >= 0 success, < 0 an E_ code. The
// pointers are arguments of the call, so the garbage collector keeps what they
// point to alive until the host returns (the host never keeps a pointer).

//go:wasmimport minebrain tag_count
func tagCount() int32

//go:wasmimport minebrain tag_index
func tagIndex(name string) int32

//go:wasmimport minebrain tag_name
func tagName(index int32, buf unsafe.Pointer, bufCap int32) int32

//go:wasmimport minebrain read_tags
func readTags(buf unsafe.Pointer, bufCap int32) int32

//go:wasmimport minebrain setpoint_index
func setpointIndex(name string) int32

//go:wasmimport minebrain write_setpoint
func writeSetpoint(index int32, value float64) int32

//go:wasmimport minebrain write_result
func writeResult(index int32) int32

//go:wasmimport minebrain alarm_raise
func alarmRaise(name string, priority int32, msg string) int32

//go:wasmimport minebrain alarm_clear
func alarmClear(name string) int32

//go:wasmimport minebrain log
func hostLog(level int32, msg string) int32

//go:wasmimport minebrain kv_get
func kvGet(key string, buf unsafe.Pointer, bufCap int32) int32

//go:wasmimport minebrain kv_len
func kvLen(key string) int32

//go:wasmimport minebrain kv_set
func kvSet(key string, val unsafe.Pointer, valLen int32) int32

//go:wasmimport minebrain kv_delete
func kvDelete(key string) int32

//go:wasmimport minebrain config_get
func configGet(key string, buf unsafe.Pointer, bufCap int32) int32
