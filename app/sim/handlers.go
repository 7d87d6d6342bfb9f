package sim

import (
	"log/slog"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
)

// installHandlers replaces some of gopcua's service handlers. The simulator
// runs inside the desktop app, so a client must not be able to crash the
// process or corrupt the server, and gopcua v0.8.0 lets it:
//
//   - Write to an unknown namespace index dereferences a nil namespace, and
//     Write to namespace 0 changes standard nodes (see write).
//   - DeleteMonitoredItems and SetMonitoringMode with an unknown item id
//     dereference a nil item.
//   - CreateSubscription without a valid session, or with a publishing
//     interval of 0, starts a subscription goroutine that panics later,
//     where no recover can reach it (see reviseSubscription).
//   - CreateMonitoredItems can deadlock the server when the subscription
//     goes away soon after, and CreateSubscription reuses the ids of live
//     subscriptions (see subscriptions.go).
//   - FindServers lists the private URL behind the relay.
//
// A panic in a handler runs on gopcua's single request goroutine and would
// take the whole process down; guard turns it into a service fault.
// server.RegisterHandler keeps the first handler registered for a service
// and Start registers gopcua's own only where none exists, so handlers
// registered here, before Start, win.
func installHandlers(srv *server.Server, mine *addressSpace, n *notifier, public []string, log *slog.Logger) {
	reg := func(typeID uint16, name string, h server.Handler) {
		srv.RegisterHandler(typeID, guard(log, name, h))
	}
	subs := &subscriptions{srv: srv, notifier: n}
	// FindServers would list gopcua's private URL among the discovery URLs.
	reg(id.FindServersRequest_Encoding_DefaultBinary, "FindServers", func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		return findServers(srv, public, r)
	})
	reg(id.WriteRequest_Encoding_DefaultBinary, "Write", func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		return write(mine, r)
	})
	// The subscription services exist only once Start has run, so they are
	// looked up per call.
	reg(id.CreateSubscriptionRequest_Encoding_DefaultBinary, "CreateSubscription", withSession(srv, subs.createSubscription))
	reg(id.DeleteSubscriptionsRequest_Encoding_DefaultBinary, "DeleteSubscriptions", withSession(srv, func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		return srv.SubscriptionService.DeleteSubscriptions(sc, r, reqID)
	}))
	reg(id.CreateMonitoredItemsRequest_Encoding_DefaultBinary, "CreateMonitoredItems", withSession(srv, func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		return subs.createMonitoredItems(r)
	}))
	reg(id.DeleteMonitoredItemsRequest_Encoding_DefaultBinary, "DeleteMonitoredItems", withSession(srv, func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		return srv.MonitoredItemService.DeleteMonitoredItems(sc, r, reqID)
	}))
	reg(id.SetMonitoringModeRequest_Encoding_DefaultBinary, "SetMonitoringMode", withSession(srv, func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		return srv.MonitoredItemService.SetMonitoringMode(sc, r, reqID)
	}))
}

// minPublishingInterval is the fastest publishing a client gets, in ms: the
// values change every publishInterval anyway.
const minPublishingInterval = 100.0

// reviseSubscription applies the limits gopcua does not. gopcua grants what
// is asked and starts a ticker with the publishing interval, and a ticker of
// zero panics in a goroutine no recover reaches; 0 is a legal request ("as
// fast as you can"). gopcua echoes the request back as the revised values,
// so the client learns the limits.
func reviseSubscription(req *ua.CreateSubscriptionRequest) {
	if !(req.RequestedPublishingInterval >= minPublishingInterval) { // also catches NaN
		req.RequestedPublishingInterval = minPublishingInterval
	}
	if req.RequestedMaxKeepAliveCount == 0 {
		req.RequestedMaxKeepAliveCount = 10
	}
	if least := 3 * req.RequestedMaxKeepAliveCount; req.RequestedLifetimeCount < least {
		req.RequestedLifetimeCount = least // the spec's minimum
	}
}

// guard turns a panic in a handler into a BadInternalError service fault.
// gopcua's handlers release their locks with defer, so recovering leaves the
// server consistent.
func guard(log *slog.Logger, name string, h server.Handler) server.Handler {
	return func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (resp ua.Response, err error) {
		defer func() {
			if p := recover(); p != nil {
				log.Warn("sim: recovered from a panic in an OPC UA service handler", "service", name, "panic", p)
				resp, err = nil, ua.StatusBadInternalError
			}
		}()
		return h(sc, r, reqID)
	}
}

// withSession refuses a request whose session the server does not know.
func withSession(srv *server.Server, h server.Handler) server.Handler {
	return func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		if hdr := r.Header(); hdr == nil || hdr.AuthenticationToken == nil || srv.Session(hdr) == nil {
			return nil, ua.StatusBadSessionIDInvalid
		}
		return h(sc, r, reqID)
	}
}

// write serves the Write service. Only the mine's namespace is writable:
// gopcua's namespace 0 treats a node without an AccessLevel attribute as
// writable and would let a client overwrite, say, the NamespaceArray.
func write(mine *addressSpace, r ua.Request) (ua.Response, error) {
	req, ok := r.(*ua.WriteRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	results := make([]ua.StatusCode, len(req.NodesToWrite))
	for i, w := range req.NodesToWrite {
		switch {
		case w == nil || w.NodeID == nil:
			results[i] = ua.StatusBadNodeIDUnknown
		case w.NodeID.Namespace() != mine.ID():
			results[i] = ua.StatusBadNotWritable
		default:
			results[i] = mine.SetAttribute(w.NodeID, w.AttributeID, w.Value)
		}
	}
	return &ua.WriteResponse{
		ResponseHeader:  responseHeader(req.RequestHeader),
		Results:         results,
		DiagnosticInfos: []*ua.DiagnosticInfo{},
	}, nil
}

// findServers describes this server with only its public URLs.
func findServers(srv *server.Server, public []string, r ua.Request) (ua.Response, error) {
	req, ok := r.(*ua.FindServersRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	eps := srv.Endpoints()
	if len(eps) == 0 || eps[0].Server == nil {
		return nil, ua.StatusBadInternalError
	}
	app := *eps[0].Server
	app.DiscoveryURLs = public
	return &ua.FindServersResponse{ResponseHeader: responseHeader(req.RequestHeader), Servers: []*ua.ApplicationDescription{&app}}, nil
}

func responseHeader(req *ua.RequestHeader) *ua.ResponseHeader {
	h := &ua.ResponseHeader{
		Timestamp:          time.Now(),
		ServiceResult:      ua.StatusOK,
		ServiceDiagnostics: &ua.DiagnosticInfo{},
		StringTable:        []string{},
		AdditionalHeader:   ua.NewExtensionObject(nil),
	}
	if req != nil {
		h.RequestHandle = req.RequestHandle
	}
	return h
}
