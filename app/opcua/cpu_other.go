//go:build !unix

package opcua

import "time"

// processCPU is not measured on this platform; the bench reports 0.
func processCPU() time.Duration { return 0 }
