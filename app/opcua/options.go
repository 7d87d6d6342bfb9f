// Package opcua is Minebrain's OPC UA client side: it connects to a server, discovers the
// equipment tree (Objects/Mine/<Area>/<Unit>/<Signal>, docs/architecture.md Contract 1),
// subscribes to every signal and keeps the tag table current, through connection losses,
// server restarts and subscriptions that die silently.
//
// One Connection owns one endpoint. Run it in a goroutine; read Status and Equipment from
// anywhere.
package opcua

import (
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// DefaultNamespaceURI is the namespace of the simulated mine's address space. Its index is
// read from the server's NamespaceArray, never assumed.
const DefaultNamespaceURI = "urn:minebrain:sim"

// Defaults for the zero fields of Options.
const (
	DefaultPublishInterval = 250 * time.Millisecond
	DefaultStaleAfter      = 5 * time.Second
	DefaultReconnectMin    = 500 * time.Millisecond
	DefaultReconnectMax    = 10 * time.Second
	DefaultRequestTimeout  = 10 * time.Second

	DefaultMaxNotificationsPerPublish = 1000
)

// Options configure a Connection. Only Endpoint is required.
type Options struct {
	// Name identifies the connection in status and logs; default "opcua".
	Name string
	// Endpoint is the server URL, opc.tcp://host:port[/path]. It is the address dialled for
	// every session: endpoint URLs the server advertises may name hosts we cannot reach.
	Endpoint string
	// Select says which nodes to monitor; the zero value is the simulated mine's equipment
	// tree (Objects/Mine in DefaultNamespaceURI).
	Select Selection
	// Security selects how the connection is secured; the zero value is SecurityNone.
	Security Security
	// PublishInterval is the subscription's publishing interval; default 250 ms.
	PublishInterval time.Duration
	// SamplingInterval is how often the server samples each item; default PublishInterval.
	SamplingInterval time.Duration
	// MaxNotificationsPerPublish caps the data changes in one publish response; default
	// 1000, which keeps a response under the ~64 KiB gopcua's server can send. A large site
	// on a capable server wants more: gopcua keeps one publish request in flight, so this
	// caps notifications per round trip (gopcua turns 0 into 10000).
	MaxNotificationsPerPublish *uint32
	// QueueSize is the server-side queue of each monitored item; default 1, because a live
	// table wants only the latest value. Recording every change of an item sampled faster
	// than the publishing interval needs publish/sampling + 1.
	QueueSize uint32
	// StaleAfter is how long the connection may deliver nothing (no data change, no
	// heartbeat) before its state turns stale; default 5 s.
	StaleAfter time.Duration
	// RebuildAfter is how long it may stay silent before the session and subscription are
	// torn down and rebuilt, because gopcua can leave a subscription dead without an error
	// (after a server restart, for one). Default 2 × StaleAfter.
	RebuildAfter time.Duration
	// ReconnectMin and ReconnectMax bound the exponential backoff between connection
	// attempts; defaults 500 ms and 10 s.
	ReconnectMin, ReconnectMax time.Duration
	// RequestTimeout bounds every service call (connect, browse, read, create); default 10 s.
	RequestTimeout time.Duration
	// Logger receives state changes and errors; default slog.Default().
	Logger *slog.Logger
}

// Check reports the first option that cannot work, like New, but without requiring the
// application certificate and trust store that secured settings need: a caller can check a
// configuration before opening its PKI directory.
func (o Options) Check() error {
	_, err := o.defaults(false)
	return err
}

// withDefaults returns o with every zero field set to its default, or an error naming the
// field that cannot work.
func (o Options) withDefaults() (Options, error) { return o.defaults(true) }

func (o Options) defaults(needPKI bool) (Options, error) {
	if o.Name == "" {
		o.Name = "opcua"
	}
	if o.Endpoint == "" {
		return o, fmt.Errorf("opcua: connection %q: no endpoint", o.Name)
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Scheme != "opc.tcp" || u.Host == "" {
		return o, fmt.Errorf("opcua: connection %q: invalid endpoint %q (want opc.tcp://host:port)", o.Name, o.Endpoint)
	}
	sel, err := o.Select.withDefaults()
	if err != nil {
		return o, fmt.Errorf("opcua: connection %q: %w", o.Name, err)
	}
	o.Select = sel
	if err := o.Security.validate(needPKI); err != nil {
		return o, fmt.Errorf("opcua: connection %q: %w", o.Name, err)
	}
	if o.PublishInterval <= 0 {
		o.PublishInterval = DefaultPublishInterval
	}
	if o.SamplingInterval <= 0 {
		o.SamplingInterval = o.PublishInterval
	}
	if o.MaxNotificationsPerPublish == nil {
		n := uint32(DefaultMaxNotificationsPerPublish)
		o.MaxNotificationsPerPublish = &n
	}
	if o.QueueSize == 0 {
		o.QueueSize = 1
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.RebuildAfter <= 0 {
		o.RebuildAfter = 2 * o.StaleAfter
	}
	if o.RebuildAfter < o.StaleAfter {
		return o, fmt.Errorf("opcua: connection %q: RebuildAfter %v is shorter than StaleAfter %v", o.Name, o.RebuildAfter, o.StaleAfter)
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = DefaultReconnectMin
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = DefaultReconnectMax
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = o.ReconnectMin
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
