package minebrain

import "strconv"

// Error is a negative result code of the ABI (the E_ codes of sdk/ABI.md).
// The SDK returns these as error values; compare with == or errors.Is:
//
//	if err := h.Write(sp, v); err == minebrain.ErrRate { ... }
type Error int32

// The ABI's result codes.
const (
	ErrNotGranted Error = -1  // E_NOT_GRANTED: no such tag or setpoint in the manifest
	ErrBuffer     Error = -2  // E_BUFFER: the buffer is too small (the SDK retries; you should not see it)
	ErrRange      Error = -3  // E_RANGE: an index or argument out of range
	ErrLimit      Error = -4  // E_LIMIT: outside the manifest's min/max, or a key-value limit
	ErrRate       Error = -5  // E_RATE: faster than the manifest's max rate, or the log rate
	ErrNotFound   Error = -6  // E_NOT_FOUND: no such key
	ErrRefused    Error = -7  // E_REFUSED: the control path refused the last write
	ErrRejected   Error = -8  // E_REJECTED: the equipment refused the last write
	ErrTimeout    Error = -9  // E_TIMEOUT: the last write was not confirmed in time
	ErrInvalid    Error = -10 // E_INVALID: a malformed argument (bad UTF-8, alarm name, priority)
)

var errNames = [...]string{
	1:  "E_NOT_GRANTED: no such tag or setpoint in the manifest",
	2:  "E_BUFFER: buffer too small",
	3:  "E_RANGE: index or argument out of range",
	4:  "E_LIMIT: outside the manifest's limits or a key-value limit",
	5:  "E_RATE: rate limit exceeded",
	6:  "E_NOT_FOUND: no such key",
	7:  "E_REFUSED: the control path refused the write",
	8:  "E_REJECTED: the equipment refused the write",
	9:  "E_TIMEOUT: the write was not confirmed in time",
	10: "E_INVALID: malformed argument",
}

// Error returns the code's name and meaning, prefixed "minebrain: ".
func (e Error) Error() string {
	if e < 0 && int(-e) < len(errNames) {
		return "minebrain: " + errNames[-e]
	}
	return "minebrain: result code " + strconv.Itoa(int(e))
}

// Code returns the ABI's numeric result code (negative).
func (e Error) Code() int32 { return int32(e) }

// errTable holds the known codes already boxed as error values, so that
// returning an error on the hot path does not allocate.
var errTable = [...]error{
	nil, ErrNotGranted, ErrBuffer, ErrRange, ErrLimit, ErrRate,
	ErrNotFound, ErrRefused, ErrRejected, ErrTimeout, ErrInvalid,
}

// codeErr turns a result code into nil (>= 0) or an Error.
func codeErr(c int32) error {
	if c >= 0 {
		return nil
	}
	if int(-c) < len(errTable) {
		return errTable[-c]
	}
	return Error(c)
}
