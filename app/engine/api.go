package engine

import "time"

// ReadyInfo is what the frontend reports once it has painted the overview with live values.
type ReadyInfo struct {
	Units  int `json:"units"`
	Values int `json:"values"`
}

// Model returns the site's areas, units and signals. It has no areas until the equipment is
// discovered; every later change comes as a model event too.
func (e *Engine) Model() Model {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.model
}

// Snapshot returns the latest value of every tag that has one.
func (e *Engine) Snapshot() []TagValue {
	return tagValues(e.table.Snapshot())
}

// Status returns the state of every connection.
func (e *Engine) Status() Status {
	e.mu.Lock()
	conn, rec := e.conn, e.rec
	e.mu.Unlock()
	now := time.Now()
	var st Status
	if conn == nil {
		st = statusOf(now)
	} else {
		st = statusOf(now, conn.Status())
	}
	if rec != nil {
		st.History = rec.status(now)
	}
	return st
}

// Ready records that the frontend painted its first overview. The line it logs is what the
// desktop smoke test waits for.
func (e *Engine) Ready(info ReadyInfo) {
	e.log.Info("engine: frontend ready", "units", info.Units, "values", info.Values)
}
