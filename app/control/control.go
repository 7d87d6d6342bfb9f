// Package control is the only way Minebrain writes to equipment: start and stop of a unit
// (its RunCmd) and its setpoints (signals ending in SP). Every write, whoever asks for it
// (an operator at the desktop or web face, later a plugin), passes the same checks — role,
// target, limits, rate, mode, interlocks, state — and leaves audit entries with its outcome;
// operators select a command and confirm it (select-before-operate), plugins write directly.
// See README.md.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"minebrain/app/audit"
	"minebrain/app/users"
)

// Equipment is the plant as control sees it; app/engine implements it over its OPC UA
// connections. Every method must be safe for concurrent use and must not call the
// Controller back.
type Equipment interface {
	// Value is the latest value of a tag; false when the tag has never reported.
	Value(tag string) (Reading, bool)
	// Signal describes a tag; false when there is no such signal.
	Signal(tag string) (SignalInfo, bool)
	// Signals lists the tags (Area.Unit.Signal) of a unit's signals; empty for an unknown unit.
	Signals(unit string) []string
	// Write writes value (bool for RunCmd, float64 for a setpoint, converted by the engine to
	// the node's data type) and returns once the server answered. An error is the server's
	// refusal, worded for the operator, e.g. "BadInvalidState: unit is in local mode".
	Write(ctx context.Context, tag string, value any) error
}

// Reading is the latest value of a tag.
type Reading struct {
	Value  any // float64, float32, int*, uint*, bool; anything else is not a number
	Status uint32
	Time   time.Time
	Stale  bool // no update for longer than the engine trusts the value
}

// SignalInfo describes a signal: its engineering unit and range.
type SignalInfo struct {
	EU       string // display text, e.g. "%", "kN", "°C"; empty when none
	Low      float64
	High     float64
	HasRange bool // Low and High are the signal's EURange
}

// Auditor records audit entries; *audit.Log is one.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Actor is who asks: the logged-in user of a face's session, or a plugin.
type Actor struct {
	Name string
	Role users.Role
	Face string // audit.FaceDesktop, audit.FaceWeb, audit.FacePlugin (or audit.FaceCLI)
}

// Request is one command: Start or Stop of Unit, or SetValue of Tag (a setpoint of Unit) to
// Value. A caller with no value for a setpoint passes NaN.
type Request struct {
	Unit    string
	Command Command
	Tag     string
	Value   float64
	Reason  string
}

// Selection is a checked command awaiting its confirmation (Operate) until Expires.
type Selection struct {
	ID              string    `json:"id"`
	Unit            string    `json:"unit"`
	Command         Command   `json:"command"`
	Tag             string    `json:"tag"`     // the tag to be written
	Current         string    `json:"current"` // as shown, e.g. "stopped", "62.5 %"
	New             string    `json:"new"`
	Expires         time.Time `json:"expires"`
	ConfirmWithinMs int64     `json:"confirmWithinMs"`
}

// Outcome is how a command ended.
type Outcome string

// The outcomes of Operate and Write.
const (
	Done     Outcome = "done"      // written and read back
	Rejected Outcome = "rejected"  // the equipment refused the write, or tripped on start
	TimedOut Outcome = "timed out" // written, but the read-back did not confirm it in time
	Refused  Outcome = "refused"   // not written: a check failed, or the confirmation expired
)

// Result is the outcome of a command, with a message for the operator.
type Result struct {
	Outcome Outcome `json:"outcome"`
	Message string  `json:"message"`
	// Err is set when Outcome is Refused and wraps the refusal's sentinel (ErrRole, …).
	Err error `json:"-"`
}

// Sentinels wrapped by the refusals. A refusal's Error() is the message for the operator; it
// names the unit or tag, the value and what to do.
var (
	ErrRole           = errors.New("control: not permitted")            // role, or not logged in
	ErrUnknown        = errors.New("control: unknown")                  // unit, tag, command, selection
	ErrTarget         = errors.New("control: not writable")             // not a RunCmd or setpoint of the unit
	ErrLimit          = errors.New("control: outside the limits")       // not finite, below min, above max, no limits
	ErrRate           = errors.New("control: change too fast")          // MaxRate
	ErrMode           = errors.New("control: not in remote mode")       // local or unknown mode
	ErrInterlock      = errors.New("control: interlock")                // an interlock does not hold
	ErrState          = errors.New("control: already in that state")    // start of a running unit, stop of a stopped one
	ErrQuality        = errors.New("control: value cannot be read")     // RunState or a rate-limited setpoint unreadable
	ErrBusy           = errors.New("control: command in progress")      // another command on the unit is executing
	ErrConfirmTimeout = errors.New("control: not confirmed in time")    // Operate after Expires
	ErrNotYours       = errors.New("control: selected by someone else") // Operate or Cancel by another actor
	ErrAudit          = errors.New("control: audit log unavailable")    // nothing is written unaudited
	ErrClosed         = errors.New("control: closed")
	ErrConfig         = errors.New("control: invalid configuration") // New
)

// refusal is an error whose text is the operator's message and which wraps a sentinel.
type refusal struct {
	kind error
	msg  string
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.kind }

func refuse(kind error, format string, args ...any) error {
	return &refusal{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Options are the Controller's dependencies besides its configuration.
type Options struct {
	Now    func() time.Time // default time.Now; selections' expiry and the rate limit use it
	Logger *slog.Logger     // default slog.Default(); audit failures are logged here too
	Poll   time.Duration    // read-back poll interval; default 50 ms
}

// Controller checks, executes and audits commands. It is safe for concurrent use.
type Controller struct {
	cfg        Config
	eq         Equipment
	log        Auditor
	now        func() time.Time
	logger     *slog.Logger
	poll       time.Duration
	setpoints  map[string]Setpoint    // by tag
	interlocks map[string][]Interlock // by unit + "\x00" + command

	ctx    context.Context // cancelled by Close: ends read-backs
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	open      map[string]*selection // by id
	byUnit    map[string]*selection
	finished  map[string]finished // recently closed selections, by id
	lastWrite map[string]time.Time
	busy      map[string]bool // units with a command executing
	wg        sync.WaitGroup  // executions and expiry callbacks in progress
}

// selection is an open Selection with who made it and what it asks.
type selection struct {
	Selection
	actor Actor
	req   Request
	plan  plan
	timer *time.Timer
}

// finished remembers how a selection ended, so a second Operate says why it is refused.
type finished struct {
	at     time.Time
	how    string // "operated", "cancelled", …
	action string
	target string
}

// keepFinished is how long a closed selection is remembered.
const keepFinished = 10 * time.Minute

// New validates cfg and returns a Controller writing to eq and auditing to log.
func New(cfg Config, eq Equipment, log Auditor, opts Options) (*Controller, error) {
	if eq == nil || log == nil {
		return nil, fmt.Errorf("%w: control needs equipment and an audit log", ErrConfig)
	}
	if cfg.ConfirmTimeout < 0 || cfg.ReadBackTimeout < 0 {
		return nil, fmt.Errorf("%w: confirmTimeout and readBackTimeout cannot be negative", ErrConfig)
	}
	if cfg.ConfirmTimeout == 0 {
		cfg.ConfirmTimeout = DefaultConfirmTimeout
	}
	if cfg.ReadBackTimeout == 0 {
		cfg.ReadBackTimeout = DefaultReadBackTimeout
	}
	c := &Controller{
		cfg: cfg, eq: eq, log: log, now: opts.Now, logger: opts.Logger, poll: opts.Poll,
		setpoints:  map[string]Setpoint{},
		interlocks: map[string][]Interlock{},
		open:       map[string]*selection{},
		byUnit:     map[string]*selection{},
		finished:   map[string]finished{},
		lastWrite:  map[string]time.Time{},
		busy:       map[string]bool{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.poll <= 0 {
		c.poll = 50 * time.Millisecond
	}
	for i, sp := range cfg.Setpoints {
		if err := validSetpoint(sp); err != nil {
			return nil, fmt.Errorf("%w: setpoints[%d] %s: %v", ErrConfig, i, sp.Tag, err)
		}
		if _, dup := c.setpoints[sp.Tag]; dup {
			return nil, fmt.Errorf("%w: setpoints[%d]: %s is listed twice", ErrConfig, i, sp.Tag)
		}
		if sp.Role == 0 {
			sp.Role = users.Operator
		}
		c.setpoints[sp.Tag] = sp
	}
	for i, il := range cfg.Interlocks {
		if err := validInterlock(il); err != nil {
			return nil, fmt.Errorf("%w: interlocks[%d] (%s %s): %v", ErrConfig, i, il.Command, il.Unit, err)
		}
		if strings.TrimSpace(il.Message) == "" {
			il.Message = fmt.Sprintf("%s of %s is interlocked", il.Command, il.Unit)
		}
		k := ilKey(il.Unit, il.Command)
		c.interlocks[k] = append(c.interlocks[k], il)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

func ilKey(unit string, cmd Command) string { return unit + "\x00" + string(cmd) }

// splitTag splits Area.Unit.Signal into its unit (Area.Unit) and signal.
func splitTag(tag string) (unit, signal string, ok bool) {
	i := strings.LastIndexByte(tag, '.')
	if i < 0 {
		return "", "", false
	}
	unit, signal = tag[:i], tag[i+1:]
	return unit, signal, validUnit(unit) && signal != ""
}

// validUnit reports whether u looks like Area.Unit (dot-separated, no empty part).
func validUnit(u string) bool {
	parts := strings.Split(u, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if strings.TrimSpace(p) == "" || p != strings.TrimSpace(p) {
			return false
		}
	}
	return true
}

func validSetpoint(sp Setpoint) error {
	_, signal, ok := splitTag(sp.Tag)
	switch {
	case !ok:
		return fmt.Errorf("tag must be Area.Unit.Signal")
	case !strings.HasSuffix(signal, "SP"):
		return fmt.Errorf("only setpoints (signals ending in SP) can be written; %s is not one", signal)
	case sp.Min != nil && (math.IsNaN(*sp.Min) || math.IsInf(*sp.Min, 0)):
		return fmt.Errorf("min must be a finite number")
	case sp.Max != nil && (math.IsNaN(*sp.Max) || math.IsInf(*sp.Max, 0)):
		return fmt.Errorf("max must be a finite number")
	case sp.Min != nil && sp.Max != nil && *sp.Min > *sp.Max:
		return fmt.Errorf("min %s is above max %s", exact(*sp.Min), exact(*sp.Max))
	case math.IsNaN(sp.MaxRate) || math.IsInf(sp.MaxRate, 0) || sp.MaxRate < 0:
		return fmt.Errorf("maxRate must be a number >= 0 (change per second; 0 for no limit)")
	case sp.Role != 0 && !sp.Role.Valid():
		return fmt.Errorf("role must be operator, engineer or admin")
	case sp.Role == users.Viewer:
		return fmt.Errorf("role viewer: viewers cannot command equipment; use operator, engineer or admin")
	}
	return nil
}

func validInterlock(il Interlock) error {
	if !validUnit(il.Unit) {
		return fmt.Errorf("unit must be Area.Unit")
	}
	if _, err := ParseCommand(string(il.Command)); err != nil {
		return err
	}
	if len(il.Require.Any) == 0 {
		return fmt.Errorf("no condition: require must be \"TAG OP NUMBER\" terms joined by and/or")
	}
	for _, all := range il.Require.Any {
		if len(all) == 0 {
			return fmt.Errorf("empty alternative in %q", il.Require)
		}
		for _, t := range all {
			if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
				return fmt.Errorf("%s: the number must be finite", t)
			}
			if _, _, ok := splitTag(t.Tag); !ok {
				return fmt.Errorf("%s: tag must be Area.Unit.Signal", t)
			}
		}
	}
	return nil
}

// Close ends the Controller: open selections are cancelled (and audited), read-backs in
// progress end as timed out, and later calls are refused with ErrClosed. It waits for
// commands in progress to record their outcome.
func (c *Controller) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var open []*selection
	for id, s := range c.open {
		s.timer.Stop()
		open = append(open, s)
		delete(c.open, id)
	}
	clear(c.byUnit)
	c.mu.Unlock()
	c.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range open {
		c.record(ctx, s.actor, string(s.req.Command), s.plan, s.req.Reason, "cancelled: Minebrain is shutting down")
	}
	c.wg.Wait()
}
