// Package users keeps Minebrain's local users: a name, a role, an argon2id password hash and a
// disabled flag, in a table of the historian's SQLite file. Authenticate checks a login and
// rate-limits failures per user name and per source (console, remote address).
package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DB is what users needs of the historian Store: its tables live in the historian's file and
// are written on the historian's single writer.
type DB interface {
	Migrate(ctx context.Context, part string, steps ...string) error
	Write(ctx context.Context, fn func(*sql.Tx) error) error
	ReadDB() *sql.DB
}

// Part is the name of this package's tables in the historian's schema_parts.
const Part = "users"

// migrations: append, never edit.
var migrations = []string{
	`CREATE TABLE users (
		name       TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
		role       TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'engineer', 'admin')),
		password   TEXT NOT NULL,
		disabled   INTEGER NOT NULL DEFAULT 0,
		created_ns INTEGER NOT NULL,
		changed_ns INTEGER NOT NULL)`,
}

// Errors. Authenticate returns ErrBadCredentials both for an unknown user and for a wrong
// password, so a caller cannot learn which names exist; ErrDisabled only after the right
// password.
var (
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrDisabled       = errors.New("this user is disabled")
	ErrLocked         = errors.New("too many failed logins")
	ErrNotFound       = errors.New("no such user")
	ErrExists         = errors.New("user already exists")
	ErrBadName        = errors.New("bad user name")
)

// LockedError is the error of a login refused by the rate limit. errors.Is(err, ErrLocked).
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v; try again after %s", ErrLocked, e.Until.Format("15:04:05"))
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// User is a user as stored, without the password hash.
type User struct {
	Name     string
	Role     Role
	Disabled bool
	Created  time.Time
	Changed  time.Time
}

// Options tune a Users; zero fields take the defaults given.
type Options struct {
	Params            Params           // DefaultParams
	Now               func() time.Time // time.Now; tests inject a clock
	MaxFailures       int              // 5 failed logins per user name before a lockout
	SourceMaxFailures int              // 20 per source: a shared console must not lock out everyone at once
	Window            time.Duration    // 15 min without a failure forgets the failures
	Lockout           time.Duration    // 1 min, the first lockout, doubled with each further failure
	MaxLockout        time.Duration    // 1 h
	MaxHashing        int              // 2 hashes at once: each takes Params.Memory
}

func (o *Options) setDefaults() {
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.SourceMaxFailures <= 0 {
		o.SourceMaxFailures = 20
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.Lockout <= 0 {
		o.Lockout = time.Minute
	}
	if o.MaxLockout <= 0 {
		o.MaxLockout = time.Hour
	}
	if o.MaxHashing <= 0 {
		o.MaxHashing = 2
	}
}

// Users is the user table plus the login rate limits.
type Users struct {
	db      DB
	opts    Options
	byName  *limiter
	bySrc   *limiter
	hashing chan struct{} // bounds the memory taken by concurrent argon2 runs
	dummy   string        // a hash verified for unknown names, so they take as long as known ones
}

// New migrates the users table and returns the Users kept in db.
func New(ctx context.Context, db DB, opts Options) (*Users, error) {
	opts.setDefaults()
	if err := db.Migrate(ctx, Part, migrations...); err != nil {
		return nil, err
	}
	lim := func(max int) *limiter {
		return &limiter{now: opts.Now, max: max, window: opts.Window, base: opts.Lockout,
			cap: opts.MaxLockout, keys: map[string]*tally{}}
	}
	return &Users{db: db, opts: opts, byName: lim(opts.MaxFailures), bySrc: lim(opts.SourceMaxFailures),
		hashing: make(chan struct{}, opts.MaxHashing), dummy: dummyHash(opts.Params)}, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckName reports whether name can be a user name: 1-64 letters, digits, '.', '_', '@', '-',
// starting with a letter or digit (so it is safe in logs, audit entries and file names).
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", ErrBadName, name)
	}
	return nil
}

func (u *Users) hash(password string) (string, error) {
	u.hashing <- struct{}{}
	defer func() { <-u.hashing }()
	return Hash(password, u.opts.Params)
}

func (u *Users) verify(password, encoded string) (bool, error) {
	u.hashing <- struct{}{}
	defer func() { <-u.hashing }()
	return Verify(password, encoded)
}

// Add creates a user. The password is hashed before the write job, so the historian's writer
// never waits for argon2.
func (u *Users) Add(ctx context.Context, name string, role Role, password string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if !role.Valid() {
		return fmt.Errorf("users: invalid role %v", role)
	}
	if err := CheckPassword(name, password); err != nil {
		return err
	}
	h, err := u.hash(password)
	if err != nil {
		return err
	}
	now := u.opts.Now().UnixNano()
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE name = ?", name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s", ErrExists, name)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users(name, role, password, disabled, created_ns, changed_ns)
			VALUES (?, ?, ?, 0, ?, ?)`, name, role.String(), h, now, now)
		return err
	})
}

// update changes one user's row; ErrNotFound if there is none.
func (u *Users) update(ctx context.Context, name, set string, args ...any) error {
	args = append(args, u.opts.Now().UnixNano(), name)
	return u.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET "+set+", changed_ns = ? WHERE name = ?", args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return nil
	})
}

// SetPassword replaces a user's password (the rules of CheckPassword apply).
func (u *Users) SetPassword(ctx context.Context, name, password string) error {
	if err := CheckPassword(name, password); err != nil {
		return err
	}
	h, err := u.hash(password)
	if err != nil {
		return err
	}
	return u.update(ctx, name, "password = ?", h)
}

// SetRole changes a user's role.
func (u *Users) SetRole(ctx context.Context, name string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("users: invalid role %v", role)
	}
	return u.update(ctx, name, "role = ?", role.String())
}

// SetDisabled disables (or enables again) a user. A disabled user cannot log in; the row is
// kept so the audit log's names still resolve and the name cannot be reused by someone else.
func (u *Users) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return u.update(ctx, name, "disabled = ?", disabled)
}

const userCols = "name, role, disabled, created_ns, changed_ns"

func scanUser(sc interface{ Scan(...any) error }, extra ...any) (User, error) {
	var (
		usr    User
		role   string
		cr, ch int64
		dest   = append([]any{&usr.Name, &role, &usr.Disabled, &cr, &ch}, extra...)
		err    = sc.Scan(dest...)
	)
	if err != nil {
		return User{}, err
	}
	if usr.Role, err = ParseRole(role); err != nil {
		return User{}, fmt.Errorf("users: %s: %w", usr.Name, err)
	}
	usr.Created, usr.Changed = time.Unix(0, cr).UTC(), time.Unix(0, ch).UTC()
	return usr, nil
}

// Get returns one user; ErrNotFound if there is none.
func (u *Users) Get(ctx context.Context, name string) (User, error) {
	usr, err := scanUser(u.db.ReadDB().QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return usr, err
}

// List returns every user, by name.
func (u *Users) List(ctx context.Context) ([]User, error) {
	rows, err := u.db.ReadDB().QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		usr, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, usr)
	}
	return out, rows.Err()
}

// Authenticate checks a login from source (the face and address it came from, e.g.
// "web 10.0.0.7" or "desktop"). It returns the user, or ErrBadCredentials (unknown name or
// wrong password, indistinguishable, also in time), ErrDisabled (right password, disabled
// user), a *LockedError (too many failures for this name or this source; the password is not
// even checked), or a storage error.
func (u *Users) Authenticate(name, password, source string) (User, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nameKey, srcKey := strings.ToLower(name), source
	for _, l := range []struct {
		lim *limiter
		key string
	}{{u.byName, nameKey}, {u.bySrc, srcKey}} {
		if until := l.lim.lockedUntil(l.key); !until.IsZero() {
			return User{}, &LockedError{Until: until}
		}
	}
	var encoded string
	usr, err := scanUser(u.db.ReadDB().QueryRowContext(ctx,
		"SELECT "+userCols+", password FROM users WHERE name = ?", name), &encoded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		u.verify(password, u.dummy)
		u.failed(nameKey, srcKey)
		return User{}, ErrBadCredentials
	case err != nil:
		return User{}, err
	}
	ok, err := u.verify(password, encoded)
	if err != nil {
		return User{}, fmt.Errorf("users: %s: stored hash: %w", usr.Name, err)
	}
	if !ok {
		u.failed(nameKey, srcKey)
		return User{}, ErrBadCredentials
	}
	if usr.Disabled {
		return User{}, ErrDisabled
	}
	// Only the name's count is cleared: one good login from a source must not wipe the
	// guesses that source made at other names.
	u.byName.clear(nameKey)
	return usr, nil
}

func (u *Users) failed(nameKey, srcKey string) {
	u.byName.fail(nameKey)
	u.bySrc.fail(srcKey)
}
