package opcua

import "time"

// State is the life-cycle state of a Connection, as shown to operators.
type State string

// The states of docs/architecture.md Contract 2.
const (
	// StateConnecting: no session has been established yet.
	StateConnecting State = "connecting"
	// StateConnected: a session with a working subscription is delivering data.
	StateConnected State = "connected"
	// StateStale: the session is up but nothing has arrived for StaleAfter.
	StateStale State = "stale"
	// StateDisconnected: the connection was lost (or never established after an error);
	// reconnect attempts continue with backoff.
	StateDisconnected State = "disconnected"
)

// Status is a point-in-time view of a Connection.
type Status struct {
	Name     string
	Endpoint string
	State    State
	// LastError is the most recent failure, cleared when a session is established.
	LastError string
	// Err is that failure as an error, for errors.As (a refused server certificate).
	Err error
	// Security is the endpoint in use, e.g. "Basic256Sha256 · SignAndEncrypt · username".
	Security string
	// Problems are what the latest session could not monitor: selection rules that found
	// nothing and nodes the server does not have. The other items are unaffected.
	Problems []string
	// LastDataAt is when the last notification (data change or heartbeat) arrived.
	LastDataAt time.Time
	// Items is the number of signals currently monitored.
	Items int
	// SetupTime is how long the latest session took from connecting to every item
	// monitored (discovery included).
	SetupTime time.Duration
	// Rate is data-change notifications per second, over the last second or so.
	Rate float64
}
