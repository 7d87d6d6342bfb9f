package desktop

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/engine"
	"minebrain/app/sim"
	"minebrain/app/site"
	"minebrain/app/users"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// cheapPasswords keep argon2 from dominating the tests (64 MiB per hash, slower still with -race).
var cheapPasswords = users.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// testSite is the embedded simulator with one standing alarm: DR05 starts in local mode.
const testSite = `site: Desktop test
connections:
  - name: sim
    endpoint: embedded
    security: {policy: None, mode: None}
    equipment: {namespace: urn:minebrain:sim, root: Mine}
alarms:
  - id: DR05.Local
    tag: Pit.DR05.Mode
    kind: discrete
    op: "=="
    limit: 0
    priority: low
    message: DR05 in local control
`

const (
	adminPass    = "admin-password-1"
	operatorPass = "operator-password-1"
	viewerPass   = "viewer-password-1"
)

// cli is an administrator acting outside the window, as `minebrain users` would.
var cli = engine.Actor{Name: "ada", Role: users.Admin, Face: audit.FaceCLI}

// startEngine runs a real engine on the embedded simulator, its users and audit log in a
// history file of its own.
func startEngine(t *testing.T) *engine.Engine {
	t.Helper()
	s, err := site.Parse("desktop.yaml", []byte(testSite))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Config{Site: s, Sim: sim.Options{Seed: 1, TimeScale: 60, Logger: quiet},
		PublishInterval: 100 * time.Millisecond, Logger: quiet, NoRecording: true,
		HistoryPath: filepath.Join(t.TempDir(), "history.db"), PasswordParams: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// withUsers sets up the administrator "ada" (outside the window), the operator "olga" and
// the viewer "vic".
func withUsers(t *testing.T, e *engine.Engine) {
	t.Helper()
	if _, err := e.SetupFirstAdmin("ada", adminPass, audit.FaceCLI); err != nil {
		t.Fatal(err)
	}
	if err := e.AddUser(cli, "olga", "operator", operatorPass); err != nil {
		t.Fatal(err)
	}
	if err := e.AddUser(cli, "vic", "viewer", viewerPass); err != nil {
		t.Fatal(err)
	}
}

// fakeClock is the session's clock in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestApp returns the window's bound object as Run makes it, on a fake clock, counting
// the "session ended" announcements.
func newTestApp(e *engine.Engine, opts Options) (*App, *fakeClock, *atomic.Int32) {
	a := NewApp(e, quiet, opts)
	clk := &fakeClock{t: time.Now()}
	ended := new(atomic.Int32)
	a.sess.mu.Lock()
	a.sess.now = clk.now
	a.sess.checked = clk.now()
	a.sess.ended = func() { ended.Add(1) }
	a.sess.mu.Unlock()
	return a, clk, ended
}

// sessionMethods are the bound methods that work without a login.
var sessionMethods = map[string]bool{"Session": true, "Login": true, "Logout": true, "SetupFirstAdmin": true}

// callAll calls every other bound method of a with zero arguments and returns each one's error.
func callAll(t *testing.T, a *App) map[string]error {
	t.Helper()
	errType := reflect.TypeFor[error]()
	v := reflect.ValueOf(a)
	out := map[string]error{}
	for i := 0; i < v.NumMethod(); i++ {
		m := v.Type().Method(i)
		if sessionMethods[m.Name] {
			continue
		}
		ft := v.Method(i).Type()
		if ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errType {
			t.Errorf("%s returns no error: it cannot refuse a caller who is not logged in", m.Name)
			continue
		}
		args := make([]reflect.Value, ft.NumIn())
		for j := range args {
			args[j] = reflect.Zero(ft.In(j))
		}
		res := v.Method(i).Call(args)
		err, _ := res[len(res)-1].Interface().(error)
		out[m.Name] = err
	}
	for _, name := range []string{"Model", "Snapshot", "Status", "History", "Alarms", "AcknowledgeAlarms",
		"SelectCommand", "OperateCommand", "Audit", "Users", "AddUser", "SetUserDisabled", "ChangeOwnPassword"} {
		if _, ok := out[name]; !ok {
			t.Fatalf("bound method %s not found among %v", name, out)
		}
	}
	return out
}

func requireLoggedOut(t *testing.T, a *App, when string) {
	t.Helper()
	for name, err := range callAll(t, a) {
		if !errors.Is(err, ErrNotLoggedIn) {
			t.Errorf("%s: %s returned %v, want ErrNotLoggedIn", when, name, err)
		}
	}
}

func requireUser(t *testing.T, a *App, name, role string) {
	t.Helper()
	info := a.Session()
	if info.User == nil || info.User.Name != name || info.User.Role != role || info.SetupNeeded {
		t.Fatalf("session %+v (user %+v), want %s (%s)", info, info.User, name, role)
	}
}

func requireNoUser(t *testing.T, a *App) {
	t.Helper()
	if info := a.Session(); info.User != nil {
		t.Fatalf("session user %+v, want none", *info.User)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// auditEntries returns the audit log, oldest first.
func auditEntries(t *testing.T, e *engine.Engine) []audit.Entry {
	t.Helper()
	list, err := e.Audit(cli, engine.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.Entry, len(list))
	for i, x := range list {
		out[len(list)-1-i] = x
	}
	return out
}

// findEntry returns the first entry by who of action whose result starts with resultPrefix
// (and whose target is target, unless that is "").
func findEntry(entries []audit.Entry, who, action, resultPrefix string, target ...string) *audit.Entry {
	for i := range entries {
		x := &entries[i]
		if x.Who == who && x.Action == action && strings.HasPrefix(x.Result, resultPrefix) &&
			(len(target) == 0 || x.Target == target[0]) {
			return x
		}
	}
	return nil
}

// TestFirstAdminSetup: before a login every bound method fails ErrNotLoggedIn and the
// session asks for setup; setting up the first administrator logs the window in, once.
func TestFirstAdminSetup(t *testing.T) {
	e := startEngine(t)
	a, _, _ := newTestApp(e, Options{})

	info := a.Session()
	if info.User != nil || !info.SetupNeeded {
		t.Fatalf("fresh session %+v, want no user and setup needed", info)
	}
	requireLoggedOut(t, a, "before setup")
	if _, err := a.Login("ada", adminPass); err == nil {
		t.Fatal("login without users succeeded")
	}

	u, err := a.SetupFirstAdmin("ada", adminPass)
	if err != nil {
		t.Fatal(err)
	}
	if u != (SessionUser{Name: "ada", Role: "admin"}) {
		t.Fatalf("setup returned %+v", u)
	}
	requireUser(t, a, "ada", "admin")
	if list, err := a.Users(); err != nil || len(list) != 1 || list[0].Name != "ada" || list[0].Role != "admin" {
		t.Fatalf("users after setup: %+v %v", list, err)
	}

	if _, err := a.SetupFirstAdmin("eve", "eve-password-1"); err == nil {
		t.Fatal("a second SetupFirstAdmin succeeded")
	}
	other, _, _ := newTestApp(e, Options{}) // another window on the same engine
	if info := other.Session(); info.User != nil || info.SetupNeeded {
		t.Fatalf("second window's session %+v, want no user and no setup", info)
	}
	if _, err := other.SetupFirstAdmin("eve", "eve-password-1"); err == nil {
		t.Fatal("a second window set up another first administrator")
	}
	requireNoUser(t, other)
	requireUser(t, a, "ada", "admin") // the refusals did not touch the first session

	entries := auditEntries(t, e)
	x := findEntry(entries, "ada", "user.setup", "done")
	if x == nil || x.Face != audit.FaceDesktop {
		t.Fatalf("no desktop user.setup entry in %+v", entries)
	}
	if findEntry(entries, "eve", "user.setup", "") != nil {
		t.Fatalf("refused setup audited as done: %+v", entries)
	}
}

// TestLoginRolesAndLogout: a wrong password fails with the users error; a login runs every
// method as that user from the desktop face; Logout ends it.
func TestLoginRolesAndLogout(t *testing.T) {
	e := startEngine(t)
	withUsers(t, e)
	a, _, ended := newTestApp(e, Options{})

	info := a.Session()
	if info.User != nil || info.SetupNeeded {
		t.Fatalf("session with users %+v, want no user and no setup", info)
	}
	if _, err := a.SetupFirstAdmin("eve", "eve-password-1"); err == nil {
		t.Fatal("SetupFirstAdmin succeeded with users")
	}

	// A wrong password.
	if _, err := a.Login("olga", "not-her-password"); !errors.Is(err, users.ErrBadCredentials) {
		t.Fatalf("wrong password: %v, want ErrBadCredentials", err)
	}
	requireNoUser(t, a)
	requireLoggedOut(t, a, "after a wrong password")

	// The operator.
	u, err := a.Login("olga", operatorPass)
	if err != nil {
		t.Fatal(err)
	}
	if u != (SessionUser{Name: "olga", Role: "operator"}) {
		t.Fatalf("login returned %+v", u)
	}
	requireUser(t, a, "olga", "operator")
	if _, err := a.Model(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the DR05 alarm", func() bool {
		sum, err := a.Alarms()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range sum.Active {
			if x.ID == "DR05.Local" {
				return true
			}
		}
		return false
	})
	res, err := a.AcknowledgeAlarms([]string{"DR05.Local"})
	if err != nil || res.Acknowledged != 1 {
		t.Fatalf("operator acknowledge: %+v %v", res, err)
	}
	waitFor(t, "olga's acknowledgement in the alarm journal", func() bool {
		journal, err := a.AlarmHistory(engine.AlarmHistoryQuery{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range journal {
			if x.ID == "DR05.Local" && x.Who == "olga" {
				return true
			}
		}
		return false
	})
	if _, err := a.Users(); err == nil || !strings.Contains(err.Error(), "admin role") {
		t.Fatalf("operator listed users: %v", err)
	}
	if err := a.AddUser("mallory", "admin", "mallory-password-1"); err == nil || !strings.Contains(err.Error(), "admin role") {
		t.Fatalf("operator added a user: %v", err)
	}

	// Logout ends it.
	if err := a.Logout(); err != nil {
		t.Fatal(err)
	}
	requireNoUser(t, a)
	requireLoggedOut(t, a, "after logout")

	// The viewer reads but does not act.
	if _, err := a.Login("vic", viewerPass); err != nil {
		t.Fatal(err)
	}
	requireUser(t, a, "vic", "viewer")
	if _, err := a.Alarms(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcknowledgeAlarms([]string{"DR05.Local"}); err == nil || !strings.Contains(err.Error(), "operator role") {
		t.Fatalf("viewer acknowledged: %v", err)
	}
	if _, err := a.SelectCommand(engine.CommandRequest{Unit: "Haulage.OC2", Command: "start"}); !errors.Is(err, control.ErrRole) {
		t.Fatalf("viewer selected a command: %v", err)
	}
	if _, err := a.Users(); err == nil || !strings.Contains(err.Error(), "admin role") {
		t.Fatalf("viewer listed users: %v", err)
	}

	// Logging in as someone else replaces the session without a Logout.
	if _, err := a.Login("ada", adminPass); err != nil {
		t.Fatal(err)
	}
	requireUser(t, a, "ada", "admin")
	list, err := a.Users()
	if err != nil || len(list) != 3 {
		t.Fatalf("admin users: %+v %v", list, err)
	}
	if err := a.AddUser("carl", "engineer", "carl-password-1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(); err != nil {
		t.Fatal(err)
	}
	requireLoggedOut(t, a, "after the admin's logout")
	if n := ended.Load(); n != 0 {
		t.Fatalf("the ended callback fired %d times on logins and logouts", n)
	}

	// The audit log: the window's entries are the desktop face's.
	entries := auditEntries(t, e)
	for _, want := range []struct{ who, action, result, target string }{
		{"olga", "login", "refused", "from desktop"},
		{"olga", "login", "done", "from desktop"},
		{"olga", "user.add", "refused", "user mallory"},
		{"vic", "login", "done", "from desktop"},
		{"vic", "select start", "refused", "Haulage.OC2"},
		{"ada", "login", "done", "from desktop"},
		{"ada", "user.add", "done", "user carl"},
	} {
		x := findEntry(entries, want.who, want.action, want.result, want.target)
		if x == nil {
			t.Errorf("no audit entry %s %s %s in %+v", want.who, want.action, want.result, entries)
			continue
		}
		if x.Face != audit.FaceDesktop {
			t.Errorf("audit entry %s %s %s has face %q, want desktop", want.who, want.action, want.result, x.Face)
		}
	}
}

// TestAutoLoginViewer: --auto-login-viewer starts the window as the viewer "wall-display",
// which reads but cannot command, and Logout returns to it.
func TestAutoLoginViewer(t *testing.T) {
	e := startEngine(t)
	withUsers(t, e)
	a, clk, ended := newTestApp(e, Options{AutoLoginViewer: true})

	requireUser(t, a, WallDisplay, "viewer")
	if _, err := a.Model(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Alarms(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SelectCommand(engine.CommandRequest{Unit: "Haulage.OC2", Command: "start"}); !errors.Is(err, control.ErrRole) {
		t.Fatalf("wall display selected a command: %v", err)
	}
	if _, err := a.AcknowledgeAlarms([]string{"DR05.Local"}); err == nil || !strings.Contains(err.Error(), "operator role") {
		t.Fatalf("wall display acknowledged: %v", err)
	}
	if _, err := a.Users(); err == nil || !strings.Contains(err.Error(), "admin role") {
		t.Fatalf("wall display listed users: %v", err)
	}

	// It has no user row, and its user checks do not end it.
	clk.advance(time.Hour)
	requireUser(t, a, WallDisplay, "viewer")

	// Logout returns to the wall display, also after a real user's login.
	if err := a.Logout(); err != nil {
		t.Fatal(err)
	}
	requireUser(t, a, WallDisplay, "viewer")
	if _, err := a.Login("olga", operatorPass); err != nil {
		t.Fatal(err)
	}
	requireUser(t, a, "olga", "operator")
	if err := a.Logout(); err != nil {
		t.Fatal(err)
	}
	requireUser(t, a, WallDisplay, "viewer")
	if _, err := a.Alarms(); err != nil {
		t.Fatal(err)
	}
	if n := ended.Load(); n != 0 {
		t.Fatalf("the ended callback fired %d times", n)
	}

	// The wall display's refusal is audited as the desktop face's.
	x := findEntry(auditEntries(t, e), WallDisplay, "select start", "refused")
	if x == nil || x.Face != audit.FaceDesktop {
		t.Fatalf("wall display's refused select: %+v", x)
	}
}

// TestDisabledUserLosesSession: a user disabled by an administrator elsewhere loses the
// window's session at the next user check, and the page is told; a role change applies at
// the next check too.
func TestDisabledUserLosesSession(t *testing.T) {
	e := startEngine(t)
	withUsers(t, e)
	a, clk, ended := newTestApp(e, Options{})

	if _, err := a.Login("olga", operatorPass); err != nil {
		t.Fatal(err)
	}

	// A role change applies at the next check, not before.
	if err := e.SetUserRole(cli, "olga", "engineer"); err != nil {
		t.Fatal(err)
	}
	requireUser(t, a, "olga", "operator")
	clk.advance(userCheckEvery)
	requireUser(t, a, "olga", "engineer")

	if err := e.SetUserDisabled(cli, "olga", true); err != nil {
		t.Fatal(err)
	}
	clk.advance(userCheckEvery - time.Second)
	requireUser(t, a, "olga", "engineer") // not checked yet
	if _, err := a.Alarms(); err != nil {
		t.Fatalf("before the check: %v", err)
	}
	if n := ended.Load(); n != 0 {
		t.Fatalf("ended fired %d times before the check", n)
	}

	clk.advance(time.Second)
	if _, err := a.Alarms(); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("disabled user's call: %v, want ErrNotLoggedIn", err)
	}
	if n := ended.Load(); n != 1 {
		t.Fatalf("ended fired %d times, want 1", n)
	}
	requireNoUser(t, a)
	requireLoggedOut(t, a, "after the user was disabled")
	if n := ended.Load(); n != 1 {
		t.Fatalf("ended fired %d times after the session ended, want 1", n)
	}
	if _, err := a.Login("olga", operatorPass); !errors.Is(err, users.ErrDisabled) {
		t.Fatalf("disabled user's login: %v, want ErrDisabled", err)
	}
	requireNoUser(t, a)
}

// TestDisabledUserReturnsToWallDisplay: on a wall display, a disabled user's session ends
// into the wall display's, and the page is told.
func TestDisabledUserReturnsToWallDisplay(t *testing.T) {
	e := startEngine(t)
	withUsers(t, e)
	a, clk, ended := newTestApp(e, Options{AutoLoginViewer: true})

	if _, err := a.Login("olga", operatorPass); err != nil {
		t.Fatal(err)
	}
	if err := e.SetUserDisabled(cli, "olga", true); err != nil {
		t.Fatal(err)
	}
	clk.advance(userCheckEvery)
	requireUser(t, a, WallDisplay, "viewer")
	if n := ended.Load(); n != 1 {
		t.Fatalf("ended fired %d times, want 1", n)
	}
	if _, err := a.AcknowledgeAlarms([]string{"DR05.Local"}); err == nil || !strings.Contains(err.Error(), "operator role") {
		t.Fatalf("after the wall display came back: %v", err)
	}
}

// TestAdminDisablesFromTheWindow: an administrator disabling another user from the window
// keeps their own session; the disabled user's window ends at once on its next check.
func TestAdminDisablesFromTheWindow(t *testing.T) {
	e := startEngine(t)
	withUsers(t, e)
	admin, _, adminEnded := newTestApp(e, Options{})
	op, clk, opEnded := newTestApp(e, Options{})

	if _, err := admin.Login("ada", adminPass); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Login("olga", operatorPass); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetUserDisabled("ada", true); err == nil {
		t.Fatal("the administrator disabled themself")
	}
	if err := admin.SetUserDisabled("olga", true); err != nil {
		t.Fatal(err)
	}
	requireUser(t, admin, "ada", "admin")
	clk.advance(userCheckEvery)
	requireNoUser(t, op)
	if adminEnded.Load() != 0 || opEnded.Load() != 1 {
		t.Fatalf("ended: admin %d, operator %d; want 0 and 1", adminEnded.Load(), opEnded.Load())
	}
	x := findEntry(auditEntries(t, e), "ada", "user.disable", "done")
	if x == nil || x.Face != audit.FaceDesktop || x.Target != "user olga" {
		t.Fatalf("desktop user.disable entry: %+v", x)
	}
}
