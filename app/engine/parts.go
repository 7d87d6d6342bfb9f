package engine

import (
	"context"
	"fmt"

	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/tags"
	"minebrain/app/users"
)

// openParts opens the history file with the users, the audit log and the alarm journal in it,
// starts the alarm engine and the control path, and taps the tag table for the recorder and
// the alarms. Without a history file the alarms still run (no journal) and nobody can log in.
func (e *Engine) openParts(ctx context.Context) error {
	var j *journal
	if path := e.cfg.HistoryPath; path != "" {
		store, err := openStore(ctx, path, e.cfg.Site.History)
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.store = store
		e.mu.Unlock()
		u, err := users.New(ctx, store, users.Options{Params: e.cfg.PasswordParams})
		if err != nil {
			return fmt.Errorf("engine: users in %s: %w", path, err)
		}
		log, err := audit.New(ctx, store)
		if err != nil {
			return fmt.Errorf("engine: audit log in %s: %w", path, err)
		}
		if j, err = openJournal(ctx, store, e.log); err != nil {
			return err
		}
		var rec *recorder
		if !e.cfg.NoRecording {
			rec = newRecorder(store, path, e.cfg.Site.History, e.table, e.log)
		}
		e.mu.Lock()
		e.users, e.audit, e.rec = u, log, rec
		e.mu.Unlock()
	}
	al, err := newAlarming(e, e.cfg.Site.Alarms, j)
	if err != nil {
		return err
	}
	if j != nil {
		go j.run(al.engine.Get)
		e.mu.Lock()
		e.journal = j // Close waits for run: only a running journal is closed
		e.mu.Unlock()
	}
	ctl, err := control.New(e.cfg.Site.Control, equipment{e}, e.auditor(), control.Options{Logger: e.log})
	if err != nil {
		return fmt.Errorf("engine: control: %w", err)
	}
	stop := make(chan struct{})
	e.mu.Lock()
	e.alarms, e.control, e.stopAlarms = al, ctl, stop
	rec := e.rec
	e.mu.Unlock()
	go al.run(stop)
	if err := e.startPlugins(); err != nil {
		return err
	}
	e.table.SetTap(func(b []tags.Update) {
		if rec != nil {
			rec.tap(b)
		}
		al.tap(b)
	})
	return nil
}

// closeParts stops in the order that loses nothing: no more samples, then the alarm loop, the
// control path, the recorder's and the journal's last writes, and the file.
func (e *Engine) closeParts() error {
	e.table.SetTap(nil)
	e.mu.Lock()
	stop, al, ctl, rec, j, store := e.stopAlarms, e.alarms, e.control, e.rec, e.journal, e.store
	pl := e.plugins
	e.stopAlarms, e.plugins = nil, nil
	e.mu.Unlock()
	if pl != nil {
		pl.Close() // before the control path: no plugin write may be left half done
	}
	if stop != nil {
		close(stop)
		<-al.done
	}
	if ctl != nil {
		ctl.Close()
	}
	var err error
	if rec != nil {
		err = rec.close()
	}
	if j != nil {
		j.close()
	}
	if store != nil {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("engine: history %s: close: %w", e.cfg.HistoryPath, cerr)
		}
	}
	return err
}
