package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"minebrain/app/audit"
	"minebrain/app/users"
)

// errNoUsers is the error of every login and user call without a history file to keep users in.
var errNoUsers = errors.New("no data directory: users, the audit log and commands need one; start Minebrain with --data DIR")

func (e *Engine) parts() (*users.Users, *audit.Log) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.users, e.audit
}

// record appends an audit entry, logging (not returning) a failure: it is used for entries
// about what already happened. Commands, which must not run unaudited, go through app/control.
// newValue is what was asked for, when there is one.
func (e *Engine) record(a Actor, action, target, result string, newValue ...string) {
	_, log := e.parts()
	if log == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	who, face := a.Name, a.Face
	if who == "" {
		who = "(unknown)"
	}
	if face == "" {
		face = "engine"
	}
	entry := audit.Entry{Who: who, Face: face, Action: action, Target: target, Result: result}
	if len(newValue) > 0 {
		entry.New = newValue[0]
	}
	if _, err := log.Append(ctx, entry); err != nil {
		e.log.Error("engine: audit entry not written", "action", action, "target", target, "err", err)
	}
}

// outcome is an audit result: "done", or "refused: " and why.
func outcome(err error) string {
	if err != nil {
		return "refused: " + err.Error()
	}
	return "done"
}

// Login checks a user's password (source names the face and address for the rate limit, e.g.
// "web 10.0.0.7") and audits the attempt.
func (e *Engine) Login(name, password, source string) (users.User, error) {
	u, _ := e.parts()
	if u == nil {
		return users.User{}, errNoUsers
	}
	usr, err := u.Authenticate(name, password, source)
	face, _, _ := strings.Cut(source, " ")
	e.record(Actor{Name: name, Face: face}, "login", "from "+source, outcome(err))
	return usr, err
}

// NeedsSetup reports whether there are no users yet, so a face may offer to create the first
// administrator.
func (e *Engine) NeedsSetup() (bool, error) {
	u, _ := e.parts()
	if u == nil {
		return false, errNoUsers
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := u.List(ctx)
	return len(list) == 0, err
}

// SetupFirstAdmin creates the first user, an administrator, while there is no user at all.
// The face decides who may call it (the web face: loopback clients only).
func (e *Engine) SetupFirstAdmin(name, password, face string) (users.User, error) {
	u, _ := e.parts()
	if u == nil {
		return users.User{}, errNoUsers
	}
	e.setupMu.Lock() // one setup at a time: two racing first admins must not both succeed
	defer e.setupMu.Unlock()
	need, err := e.NeedsSetup()
	if err != nil {
		return users.User{}, err
	}
	if !need {
		return users.User{}, errors.New("there are users already: log in, or ask an administrator for an account")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := u.Add(ctx, name, users.Admin, password); err != nil {
		return users.User{}, err
	}
	e.record(Actor{Name: name, Face: face}, "user.setup", "user "+name, "done: first administrator")
	return u.Get(ctx, name)
}

// CurrentUser returns the stored user, for a face to end the session of a user disabled or
// removed meanwhile.
func (e *Engine) CurrentUser(name string) (users.User, error) {
	u, _ := e.parts()
	if u == nil {
		return users.User{}, errNoUsers
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return u.Get(ctx, name)
}

// Users lists the users (administrators only).
func (e *Engine) Users(a Actor) ([]UserView, error) {
	if err := a.need(users.Admin, "listing users"); err != nil {
		return nil, err
	}
	u, _ := e.parts()
	if u == nil {
		return nil, errNoUsers
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := u.List(ctx)
	out := make([]UserView, 0, len(list))
	for _, x := range list {
		out = append(out, UserView{Name: x.Name, Role: x.Role.String(), Disabled: x.Disabled, Changed: x.Changed})
	}
	return out, err
}

// userChange runs one user-management change as an administrator and audits it, allowed or
// refused.
func (e *Engine) userChange(a Actor, min users.Role, action, name, what string, fn func(ctx context.Context, u *users.Users) error) error {
	target := "user " + name
	if err := a.need(min, what); err != nil {
		e.record(a, action, target, "refused: "+err.Error())
		return err
	}
	u, _ := e.parts()
	if u == nil {
		return errNoUsers
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := fn(ctx, u)
	e.record(a, action, target, outcome(err))
	return err
}

// AddUser adds a user with a role and an initial password.
func (e *Engine) AddUser(a Actor, name, role, password string) error {
	return e.userChange(a, users.Admin, "user.add", name, "adding users", func(ctx context.Context, u *users.Users) error {
		r, err := users.ParseRole(role)
		if err != nil {
			return err
		}
		return u.Add(ctx, name, r, password)
	})
}

// SetUserRole changes a user's role. An administrator cannot demote themself, so that the
// last administrator cannot lock everyone out of user management by a slip.
func (e *Engine) SetUserRole(a Actor, name, role string) error {
	return e.userChange(a, users.Admin, "user.role", name, "changing roles", func(ctx context.Context, u *users.Users) error {
		r, err := users.ParseRole(role)
		if err != nil {
			return err
		}
		if strings.EqualFold(name, a.Name) && r != users.Admin {
			return errors.New("you cannot take the admin role from yourself; ask another administrator")
		}
		return u.SetRole(ctx, name, r)
	})
}

// SetUserPassword sets another user's password (an administrator's reset).
func (e *Engine) SetUserPassword(a Actor, name, password string) error {
	return e.userChange(a, users.Admin, "user.passwd", name, "setting passwords", func(ctx context.Context, u *users.Users) error {
		return u.SetPassword(ctx, name, password)
	})
}

// SetUserDisabled disables or enables a user; a disabled user's sessions end.
func (e *Engine) SetUserDisabled(a Actor, name string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return e.userChange(a, users.Admin, action, name, "disabling users", func(ctx context.Context, u *users.Users) error {
		if disabled && strings.EqualFold(name, a.Name) {
			return errors.New("you cannot disable yourself")
		}
		return u.SetDisabled(ctx, name, disabled)
	})
}

// ChangeOwnPassword changes the caller's password after checking the old one.
func (e *Engine) ChangeOwnPassword(a Actor, old, new string) error {
	return e.userChange(a, users.Viewer, "user.passwd", a.Name, "changing your password", func(ctx context.Context, u *users.Users) error {
		if _, err := u.Authenticate(a.Name, old, a.Face+" password change"); err != nil {
			return errors.New("the current password is wrong")
		}
		return u.SetPassword(ctx, a.Name, new)
	})
}

// Audit lists audit entries, newest first, optionally only those containing text.
func (e *Engine) Audit(a Actor, q AuditQuery) ([]audit.Entry, error) {
	if err := a.need(users.Viewer, "reading the audit log"); err != nil {
		return nil, err
	}
	_, log := e.parts()
	if log == nil {
		return nil, errNoUsers
	}
	var since time.Time
	if q.Since != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, q.Since); err != nil {
			return nil, errors.New("audit: since must be an RFC 3339 time, e.g. 2026-11-27T06:00:00Z")
		}
	}
	limit := q.Limit
	if limit <= 0 || limit > 5000 {
		limit = 500
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Text search filters a wider window of the newest entries: the log is read newest first.
	fetch := limit
	if q.Text != "" {
		fetch = 20 * limit
	}
	list, err := log.List(ctx, since, fetch)
	if err != nil {
		return nil, err
	}
	out := []audit.Entry{}
	text := strings.ToLower(q.Text)
	for i := len(list) - 1; i >= 0 && len(out) < limit; i-- {
		x := list[i]
		if text != "" && !strings.Contains(strings.ToLower(strings.Join([]string{x.Who, x.Face, x.Action, x.Target, x.Old, x.New, x.Reason, x.Result}, "\x00")), text) {
			continue
		}
		out = append(out, x)
	}
	return out, nil
}

// VerifyAudit checks the audit log's hash chain (engineers and administrators).
func (e *Engine) VerifyAudit(a Actor) (AuditReport, error) {
	if err := a.need(users.Engineer, "verifying the audit log"); err != nil {
		return AuditReport{}, err
	}
	_, log := e.parts()
	if log == nil {
		return AuditReport{}, errNoUsers
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := log.Verify(ctx)
	if err != nil {
		return AuditReport{}, err
	}
	rep := AuditReport{OK: r.OK(), Entries: int(r.Entries), Problems: []string{}}
	for _, p := range r.Problems {
		rep.Problems = append(rep.Problems, p.String())
	}
	return rep, nil
}
