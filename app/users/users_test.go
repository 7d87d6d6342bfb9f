package users

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"minebrain/app/historian"
)

// cheap keeps the tests fast; TestHashDefaultParams runs the real cost once.
var cheap = Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t *testing.T, path string) *historian.Store {
	t.Helper()
	s, err := historian.Open(context.Background(), path, historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newUsers(t *testing.T) (*Users, *clock) {
	t.Helper()
	s := openStore(t, filepath.Join(t.TempDir(), "history.db"))
	t.Cleanup(func() { s.Close() })
	c := &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	u, err := New(context.Background(), s, Options{Params: cheap, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return u, c
}

func TestHashRoundTrip(t *testing.T) {
	h, err := Hash("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if ok, err := Verify("correct horse battery", h); !ok || err != nil {
		t.Fatalf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := Verify("correct horse batterz", h); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
	h2, _ := Hash("correct horse battery", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", h[:len(h)-8] + "!!!", strings.Replace(h, "m=64", "m=99999999", 1)} {
		if _, err := Verify("x", bad); err == nil {
			t.Errorf("Verify accepted the malformed hash %q", bad)
		}
	}
}

func TestHashDefaultParams(t *testing.T) {
	h, err := Hash("correct horse battery", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q does not carry the default parameters", h)
	}
	p, salt, key, err := decodeHash(h)
	if err != nil || p != DefaultParams || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("decodeHash = %+v, %d-byte salt, %d-byte key, %v", p, len(salt), len(key), err)
	}
	if ok, _ := Verify("correct horse battery", h); !ok {
		t.Fatal("the right password does not verify")
	}
}

func TestRoles(t *testing.T) {
	order := Roles()
	for i, r := range order {
		for j, need := range order {
			if got, want := r.Allows(need), i >= j; got != want {
				t.Errorf("%v.Allows(%v) = %v, want %v", r, need, got, want)
			}
		}
		if p, err := ParseRole(strings.ToUpper(r.String())); p != r || err != nil {
			t.Errorf("ParseRole(%q) = %v, %v", r, p, err)
		}
	}
	if Role(0).Allows(Viewer) || Admin.Allows(Role(9)) {
		t.Error("an invalid role allows or is allowed")
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error(`ParseRole("root") succeeded`)
	}
}

func TestPasswordRules(t *testing.T) {
	u, _ := newUsers(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, pw, want string }{
		{"ana", "short", "at least 10"},
		{"shovelop01", "SHOVELOP01", "user name"},
		{"bad name", "long enough pw", "bad user name"},
		{"-x", "long enough pw", "bad user name"},
	} {
		err := u.Add(ctx, tc.name, Operator, tc.pw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%q, %q) = %v, want an error with %q", tc.name, tc.pw, err, tc.want)
		}
	}
	if err := u.Add(ctx, "ana", Operator, "ten chars!"); err != nil {
		t.Fatal(err)
	}
	if err := u.Add(ctx, "ANA", Viewer, "ten chars!"); !errors.Is(err, ErrExists) {
		t.Errorf("Add of a name differing in case = %v, want ErrExists", err)
	}
	if err := u.SetPassword(ctx, "ana", "123"); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("SetPassword(short) = %v", err)
	}
	if err := u.SetPassword(ctx, "bob", "long enough pw"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword(unknown) = %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	u, _ := newUsers(t)
	ctx := context.Background()
	if err := u.Add(ctx, "ana", Engineer, "crusher-42-ok"); err != nil {
		t.Fatal(err)
	}
	usr, err := u.Authenticate("ana", "crusher-42-ok", "desktop")
	if err != nil || usr.Name != "ana" || usr.Role != Engineer || usr.Disabled {
		t.Fatalf("Authenticate = %+v, %v", usr, err)
	}
	if _, err := u.Authenticate("ANA", "crusher-42-ok", "desktop"); err != nil {
		t.Errorf("names are not case-insensitive: %v", err)
	}
	_, errWrong := u.Authenticate("ana", "crusher-42-no", "desktop")
	_, errUnknown := u.Authenticate("nobody", "crusher-42-ok", "desktop")
	if !errors.Is(errWrong, ErrBadCredentials) || !errors.Is(errUnknown, ErrBadCredentials) || errWrong.Error() != errUnknown.Error() {
		t.Errorf("wrong password: %v; unknown user: %v; want the same ErrBadCredentials", errWrong, errUnknown)
	}

	if err := u.SetPassword(ctx, "ana", "new-password-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Authenticate("ana", "crusher-42-ok", "desktop"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the old password still works: %v", err)
	}
	if err := u.SetDisabled(ctx, "ana", true); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Authenticate("ana", "new-password-1", "desktop"); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled user, right password: %v, want ErrDisabled", err)
	}
	if _, err := u.Authenticate("ana", "wrong-password", "desktop"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled user, wrong password: %v, want ErrBadCredentials (no hint it exists)", err)
	}
	if err := u.SetDisabled(ctx, "ana", false); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Authenticate("ana", "new-password-1", "desktop"); err != nil {
		t.Errorf("enabled again: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	u, c := newUsers(t)
	ctx := context.Background()
	if err := u.Add(ctx, "ana", Operator, "crusher-42-ok"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		u.Authenticate("ana", "guess", "web 10.0.0.9")
		c.Add(time.Minute)
	}
	// Four failures: not yet locked, the right password works and clears the count.
	if _, err := u.Authenticate("ana", "crusher-42-ok", "desktop"); err != nil {
		t.Fatalf("after 4 failures: %v", err)
	}
	for i := 0; i < 5; i++ {
		if _, err := u.Authenticate("ana", "guess", "web 10.0.0.9"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	_, err := u.Authenticate("ana", "crusher-42-ok", "desktop")
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || !le.Until.Equal(c.Now().Add(time.Minute)) {
		t.Fatalf("after 5 failures, right password: %v, want locked for 1 min", err)
	}
	// An unknown name locks the same way, so a lockout says nothing about existence.
	for i := 0; i < 5; i++ {
		u.Authenticate("nobody", "guess", "desktop")
	}
	if _, err := u.Authenticate("nobody", "guess", "desktop"); !errors.Is(err, ErrLocked) {
		t.Errorf("unknown name after 5 failures: %v, want locked", err)
	}

	// Expiry, then exponential growth: the next failure locks for 2 min.
	c.Add(time.Minute)
	if _, err := u.Authenticate("ana", "guess", "web 10.0.0.9"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("after the lockout: %v", err)
	}
	c.Add(time.Minute + 59*time.Second)
	if _, err := u.Authenticate("ana", "crusher-42-ok", "desktop"); !errors.Is(err, ErrLocked) {
		t.Fatalf("1m59s into the second lockout: %v, want locked", err)
	}
	c.Add(time.Second)
	if _, err := u.Authenticate("ana", "crusher-42-ok", "desktop"); err != nil {
		t.Fatalf("after the second lockout: %v", err)
	}

	// Quiet for the window: the count is forgotten, 4 failures do not lock.
	for i := 0; i < 4; i++ {
		u.Authenticate("ana", "guess", "console 2")
	}
	c.Add(16 * time.Minute)
	for i := 0; i < 4; i++ {
		u.Authenticate("ana", "guess", "console 2")
	}
	if _, err := u.Authenticate("ana", "crusher-42-ok", "console 2"); err != nil {
		t.Fatalf("failures spread over more than the window: %v", err)
	}
}

func TestRateLimitPerSource(t *testing.T) {
	u, _ := newUsers(t)
	ctx := context.Background()
	if err := u.Add(ctx, "ana", Operator, "crusher-42-ok"); err != nil {
		t.Fatal(err)
	}
	// One source guessing many names (4 each, under the per-name limit) is locked at 20.
	for i := 0; i < 20; i++ {
		u.Authenticate(string(rune('a'+i/4))+"x", "guess", "web 10.6.6.6")
	}
	if _, err := u.Authenticate("ana", "crusher-42-ok", "web 10.6.6.6"); !errors.Is(err, ErrLocked) {
		t.Errorf("source after 20 failures: %v, want locked", err)
	}
	if _, err := u.Authenticate("ana", "crusher-42-ok", "desktop"); err != nil {
		t.Errorf("another source: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	ctx := context.Background()
	s := openStore(t, path)
	u, err := New(ctx, s, Options{Params: cheap})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		name string
		role Role
	}{{"zoe", Admin}, {"ana", Viewer}, {"max", Operator}} {
		if err := u.Add(ctx, a.name, a.role, "pw-of-"+a.name+"-123"); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.SetDisabled(ctx, "max", true); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path)
	defer s.Close()
	u, err = New(ctx, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := u.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range list {
		got = append(got, x.Name+":"+x.Role.String()+map[bool]string{true: ":disabled"}[x.Disabled])
	}
	if want := "ana:viewer max:operator:disabled zoe:admin"; strings.Join(got, " ") != want {
		t.Fatalf("after reopen: %v, want %s", got, want)
	}
	// The hash made with the cheap parameters still verifies under the default Options.
	if usr, err := u.Authenticate("zoe", "pw-of-zoe-123", "cli"); err != nil || usr.Role != Admin {
		t.Fatalf("Authenticate after reopen = %+v, %v", usr, err)
	}
	if v, _ := s.PartVersion(ctx, Part); v != len(migrations) {
		t.Errorf("part version %d, want %d", v, len(migrations))
	}
}
