// Command bench is a guest for the host runtime's benchmarks: each tick it reads every
// granted tag and asks for up to three setpoint writes; with the config key "empty" set, its
// tick does nothing at all.
package main

import "unsafe"

//go:wasmimport minebrain tag_count
func tagCount() int32

//go:wasmimport minebrain read_tags
func readTags(buf unsafe.Pointer, capacity int32) int32

//go:wasmimport minebrain write_setpoint
func writeSetpoint(index int32, value float64) int32

//go:wasmimport minebrain config_get
func configGet(key unsafe.Pointer, keyLen int32, buf unsafe.Pointer, capacity int32) int32

var (
	empty  bool
	writes int32
	buf    []byte
	sum    float64
)

func config(key string) bool {
	var out [64]byte
	k := []byte(key)
	return configGet(unsafe.Pointer(&k[0]), int32(len(k)), unsafe.Pointer(&out[0]), int32(len(out))) >= 0
}

//go:wasmexport mb_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport mb_init
func initPlugin() int32 {
	empty = config("empty")
	if config("writes") {
		writes = 3
	}
	buf = make([]byte, 24*int(tagCount())+8)
	return 0
}

//go:wasmexport mb_tick
func tick(now int64) int32 {
	if empty {
		return 0
	}
	n := readTags(unsafe.Pointer(&buf[0]), int32(len(buf)))
	s := 0.0
	for i := int32(0); i < n; i++ {
		s += *(*float64)(unsafe.Pointer(&buf[24*i]))
	}
	sum = s
	for i := int32(0); i < writes; i++ {
		writeSetpoint(i, 50+float64(i))
	}
	return 0
}

func main() {}
