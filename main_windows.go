//go:build windows

package main

import (
	"os"
	"syscall"
)

// The Windows binary is linked as a GUI program (-H windowsgui) so that opening the desktop
// window shows no console. Its subcommands (serve, sim, ...) still print: when started from a
// console with arguments, attach to that console and write there.
func init() {
	if len(os.Args) < 2 {
		return
	}
	attach := syscall.NewLazyDLL("kernel32.dll").NewProc("AttachConsole")
	const attachParentProcess = ^uint32(0) // ATTACH_PARENT_PROCESS, (DWORD)-1
	if ok, _, _ := attach.Call(uintptr(attachParentProcess)); ok == 0 {
		return // not started from a console: nothing to write to
	}
	if out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
		os.Stdout, os.Stderr = out, out
	}
}
