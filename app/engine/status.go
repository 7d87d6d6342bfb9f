package engine

import (
	"math"
	"time"

	"minebrain/app/opcua"
)

// Status is the state of every connection (Contract 2: Status()).
type Status struct {
	// Now is the engine's clock in ms since the epoch, so the UI can age values without
	// trusting the viewer's clock.
	Now         int64        `json:"now"`
	Connections []Connection `json:"connections"`
	// History is the historian recorder's state; absent when history is off.
	History *History `json:"history,omitempty"`
}

// History is the state of recording samples into the historian file.
type History struct {
	// State is recording, or failing while samples are being lost (the writer's commits
	// fail, or it is so far behind that samples were dropped within the last minute).
	State     string `json:"state"`
	LastError string `json:"lastError"`
	// Dropped counts samples that could not be recorded since start.
	Dropped int64 `json:"dropped"`
	// File is the historian database.
	File string `json:"file"`
}

// Connection is one OPC UA connection's status.
type Connection struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	// State is connecting, connected, stale or disconnected.
	State     string `json:"state"`
	LastError string `json:"lastError"`
	// LastDataAt is when anything last arrived, ms since the epoch; 0 before the first.
	LastDataAt int64 `json:"lastDataAt"`
	// Items is the number of monitored signals.
	Items int `json:"items"`
	// Rate is data changes per second.
	Rate float64 `json:"rate"`
}

func connectionOf(s opcua.Status) Connection {
	return Connection{
		Name:       s.Name,
		Endpoint:   s.Endpoint,
		State:      string(s.State),
		LastError:  s.LastError,
		LastDataAt: millis(s.LastDataAt),
		Items:      s.Items,
		Rate:       math.Round(s.Rate*10) / 10,
	}
}

func statusOf(now time.Time, conns ...opcua.Status) Status {
	st := Status{Now: now.UnixMilli(), Connections: make([]Connection, len(conns))}
	for i, c := range conns {
		st.Connections[i] = connectionOf(c)
	}
	return st
}
