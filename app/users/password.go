package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters. They are stored in every hash (PHC string), so they
// can be raised later without invalidating existing passwords.
type Params struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams: time 3, 64 MiB, 2 lanes, 16-byte salt, 32-byte key. RFC 9106's second
// recommended option is t=3 with 64 MiB; about 100 ms on a workstation core, slow enough to
// make guessing expensive, fast enough for an interactive login.
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 2, SaltLen: 16, KeyLen: 32}

// Password length bounds. The upper bound keeps one login from costing unbounded hashing.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 1024
)

// ErrWeakPassword is wrapped by the errors of CheckPassword.
var ErrWeakPassword = errors.New("password refused")

// CheckPassword applies the minimum rules: at least MinPasswordLen characters, at most
// MaxPasswordLen, and not the user name (in any case).
func CheckPassword(name, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return fmt.Errorf("%w: it must have at least %d characters", ErrWeakPassword, MinPasswordLen)
	case n > MaxPasswordLen:
		return fmt.Errorf("%w: it must have at most %d characters", ErrWeakPassword, MaxPasswordLen)
	case strings.EqualFold(password, name):
		return fmt.Errorf("%w: it must not be the user name", ErrWeakPassword)
	}
	return nil
}

var b64 = base64.RawStdEncoding

// Hash returns password's argon2id hash as a PHC string:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key> (unpadded standard base64).
func Hash(password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string encoded, comparing in constant time.
// The parameters come from encoded; an unreadable string is an error, not a mismatch.
func Verify(password, encoded string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func decodeHash(s string) (p Params, salt, key []byte, err error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, nil, nil, errors.New("users: not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(f[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("users: unsupported argon2 version %q", f[2])
	}
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("users: bad argon2 parameters %q", f[3])
	}
	// Refuse absurd costs from a tampered row rather than allocate them.
	if p.Time == 0 || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) || p.Memory > 4<<20 || p.Time > 100 {
		return p, nil, nil, fmt.Errorf("users: argon2 parameters out of range %q", f[3])
	}
	if salt, err = b64.DecodeString(f[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("users: bad salt in hash")
	}
	if key, err = b64.DecodeString(f[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errors.New("users: bad key in hash")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// dummyHash is a well-formed hash with p's cost that no password matches (random salt and
// key): verifying against it costs what a real check costs, without hashing anything up front.
func dummyHash(p Params) string {
	salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
	rand.Read(salt)
	rand.Read(key)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}
