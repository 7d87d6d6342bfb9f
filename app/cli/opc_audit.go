package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"minebrain/app/audit"
	"minebrain/app/historian"
	"minebrain/app/opcua"
	"minebrain/app/users"
)

// `opc write` and `opc call` act on equipment past Minebrain's control layer, so they follow
// the product's rule for every write to equipment: a Minebrain user with the engineer role or
// above, logged in, and an audit entry committed before anything is sent.

// opcMinRole is the role the commands that act on equipment need.
const opcMinRole = users.Engineer

// equipmentFlags are the flags of the commands that act on equipment.
func equipmentFlags(fs *flag.FlagSet, o *opcRun) {
	def, err := defaultDataDir()
	o.dataErr = err
	fs.StringVar(&o.as, "as", "", "the Minebrain user doing this, an engineer or admin (required); the password is read from the terminal or the first line of stdin")
	fs.StringVar(&o.data, "data", def, "Minebrain's data directory: its users and the audit log (in its "+historyFile+")")
	fs.StringVar(&o.reason, "reason", "", "why, recorded in the audit log")
}

// checkActor reports a missing or bad --as, or no data directory, as a usage error; -1 when
// the command may go on.
func (o *opcRun) checkActor(acts string) int {
	if o.as == "" {
		fmt.Fprintf(o.stderr, "minebrain %s %s: name yourself with --as USER (an %s); it is recorded in the audit log\n", o.name, acts, opcMinRole)
		fmt.Fprintf(o.stderr, "Run `minebrain %s --help` for usage.\n", o.name)
		return exitUsage
	}
	if err := users.CheckName(o.as); err != nil {
		return o.usage(fmt.Errorf("--as: %w", err))
	}
	if o.data == "" {
		why := "--data is empty"
		if o.dataErr != nil {
			why = o.dataErr.Error()
		}
		return o.usage(fmt.Errorf("no data directory (%s); name one with --data DIR", why))
	}
	return -1
}

// opcGate is a logged-in user allowed to act on equipment, and the audit log recording it.
type opcGate struct {
	o     *opcRun
	store *historian.Store
	log   *audit.Log
	entry audit.Entry // Who, Face, Action, Target, New, Reason; Old once read
}

// login opens the data directory, reads the password of --as, logs in and checks the role.
// A refused login or role is audited and reported; the gate is nil then, and code the exit
// status. The caller closes the gate.
func (o *opcRun) login(ctx context.Context, action, target, value string) (g *opcGate, code int) {
	store, err := openData(ctx, o.data, false)
	if err != nil {
		return nil, failed(o.stderr, o.name, fmt.Errorf("nothing sent: %w", err))
	}
	g = &opcGate{o: o, store: store, entry: audit.Entry{Who: o.as, Face: audit.FaceCLI,
		Action: action, Target: target, New: value, Reason: o.reason}}
	us, err := users.New(ctx, store, users.Options{})
	if err == nil {
		g.log, err = audit.New(ctx, store)
	}
	if err != nil {
		g.close()
		return nil, failed(o.stderr, o.name, fmt.Errorf("nothing sent: %w", err))
	}
	pw, err := readPassword(o.stderr, "password of "+o.as, false)
	if err != nil {
		g.close()
		return nil, failed(o.stderr, o.name, fmt.Errorf("nothing sent: password of %s: %w", o.as, err))
	}
	usr, err := us.Authenticate(o.as, pw, "cli")
	switch {
	case errors.Is(err, users.ErrBadCredentials) || errors.Is(err, users.ErrDisabled) || errors.Is(err, users.ErrLocked):
		return nil, g.refuse(ctx, err.Error())
	case err != nil:
		g.close()
		return nil, failed(o.stderr, o.name, fmt.Errorf("nothing sent: %w", err))
	}
	g.entry.Who = usr.Name
	if !usr.Role.Allows(opcMinRole) {
		return nil, g.refuse(ctx, fmt.Sprintf("%s has the %s role; %s needs the %s role or above", usr.Name, usr.Role, o.name, opcMinRole))
	}
	return g, -1
}

func (g *opcGate) close() { g.store.Close() }

// record appends the entry with result.
func (g *opcGate) record(ctx context.Context, result string) error {
	e := g.entry
	e.Result = result
	_, err := g.log.Append(context.WithoutCancel(ctx), e)
	return err
}

// refuse audits a refusal, reports it, closes the gate and returns exit status 1.
func (g *opcGate) refuse(ctx context.Context, why string) int {
	defer g.close()
	msg := "refused: " + why
	if err := g.record(ctx, msg); err != nil {
		msg += fmt.Sprintf(" (the audit log could not record this refusal: %v)", err)
	}
	fmt.Fprintf(g.o.stderr, "minebrain %s: %s\n", g.o.name, msg)
	return exitError
}

// send records the attempt, does it, and records its outcome: nothing is sent unless the
// attempt is committed to the audit log first. It returns send's error, or the audit log's.
func (g *opcGate) send(ctx context.Context, do func() error) (sendErr error, auditErr error) {
	if err := g.record(ctx, "sending"); err != nil {
		return nil, fmt.Errorf("nothing sent: the audit log cannot be written: %w", err)
	}
	sendErr = do()
	result := outcome(sendErr)
	if err := g.record(ctx, result); err != nil {
		return sendErr, fmt.Errorf("the audit log could not record the outcome (%s): %w", result, err)
	}
	return sendErr, nil
}

// finish reports the outcome of send and returns the exit status.
func (g *opcGate) finish(sendErr, auditErr error) int {
	code := exitOK
	if sendErr != nil {
		code = g.o.fail(sendErr)
	}
	if auditErr != nil {
		fmt.Fprintf(g.o.stderr, "minebrain %s: %v\n", g.o.name, auditErr)
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

// outcome is the audit result of a write or call: done, rejected with the server's status,
// refused (a value that could not be converted: nothing was sent) or failed.
func outcome(err error) string {
	if err == nil {
		return "done"
	}
	if errors.Is(err, opcua.ErrBadValue) {
		return "refused: " + err.Error()
	}
	if code, ok := opcua.IsStatus(err); ok {
		return "rejected: " + opcua.StatusName(code)
	}
	return "failed: " + err.Error()
}

// currentValue is a node's value as the audit entry's Old shows it.
func currentValue(v opcua.NodeValue) string {
	if v.Bad() {
		return "(" + v.Status + ")"
	}
	return opcua.FormatValue(v.Value)
}

// argsText is a method call's arguments as the audit entry's New shows them.
func argsText(args []string) string {
	return "(" + strings.Join(args, ", ") + ")"
}
