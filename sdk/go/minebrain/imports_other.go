//go:build !wasm

package minebrain

import "unsafe"

// Outside GOARCH=wasm there is no host: these stand-ins let the package
// compile (for editors, go doc and go vet on the developer's machine) and
// panic if called. Build plugins with GOOS=wasip1 GOARCH=wasm.

const noHost = "minebrain: no host: build the plugin with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared"

func tagCount() int32                               { panic(noHost) }
func tagIndex(string) int32                         { panic(noHost) }
func tagName(int32, unsafe.Pointer, int32) int32    { panic(noHost) }
func readTags(unsafe.Pointer, int32) int32          { panic(noHost) }
func setpointIndex(string) int32                    { panic(noHost) }
func writeSetpoint(int32, float64) int32            { panic(noHost) }
func writeResult(int32) int32                       { panic(noHost) }
func alarmRaise(string, int32, string) int32        { panic(noHost) }
func alarmClear(string) int32                       { panic(noHost) }
func hostLog(int32, string) int32                   { panic(noHost) }
func kvGet(string, unsafe.Pointer, int32) int32     { panic(noHost) }
func kvLen(string) int32                            { panic(noHost) }
func kvSet(string, unsafe.Pointer, int32) int32     { panic(noHost) }
func kvDelete(string) int32                         { panic(noHost) }
func configGet(string, unsafe.Pointer, int32) int32 { panic(noHost) }
