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
