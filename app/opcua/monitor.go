package opcua

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"minebrain/app/tags"
)

// Client handles are tag ID + 1: node-opcua takes the handles 0 and 0xFFFFFFFF for "not
// set" and reports such items with handle 0, which would put one item's values into
// another's tag.
func handleOf(id tags.ID) uint32 { return uint32(id) + 1 }

// tagOf is the tag of a handle from handleOf; ok is false for 0, which no tag has.
func tagOf(h uint32) (id tags.ID, ok bool) { return tags.ID(h - 1), h != 0 }

// heartbeatHandle is the client handle of the server's CurrentTime item. gopcua never hands
// keep-alive messages to its caller, so a quiet plant would look dead to the watchdog; a
// server that samples CurrentTime (every standard server) sends a change every second
// instead. Tag IDs never reach it, and it is not a value node-opcua takes for "not set".
const heartbeatHandle = math.MaxUint32 - 1

// heartbeatInterval is the sampling interval asked for the heartbeat item.
const heartbeatInterval = time.Second

// monitor creates one monitored item per signal, keyed by its tag ID as client handle, plus
// the heartbeat, in chunks the server's limits allow. It returns how many signals are
// monitored; signals the server refuses (or whose namespace is gone, a nil node) get the
// status code in the table, so they show as bad with the reason, and are listed in missing.
func (c *Connection) monitor(ctx context.Context, cl *uaClient, sub *opcua.Subscription, ids []tags.ID, nodes []*ua.NodeID, items []item) (ok int, missing []string, err error) {
	sampling := float64(c.opts.SamplingInterval / time.Millisecond)
	reqs := make([]*ua.MonitoredItemCreateRequest, 0, len(ids)+1)
	now := time.Now()
	for i, tid := range ids {
		if nodes[i] == nil {
			c.table.Invalidate([]tags.ID{tid}, uint32(ua.StatusBadNodeIDUnknown), now)
			missing = append(missing, fmt.Sprintf("%s: namespace %q is not on the server", items[i].tag, items[i].nsURI))
			continue
		}
		r := opcua.NewMonitoredItemCreateRequestWithDefaults(nodes[i], ua.AttributeIDValue, handleOf(tid))
		r.RequestedParameters.SamplingInterval = sampling
		r.RequestedParameters.QueueSize = c.opts.QueueSize
		r.RequestedParameters.Filter = items[i].deadband.filter()
		reqs = append(reqs, r)
	}
	hb := opcua.NewMonitoredItemCreateRequestWithDefaults(
		ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime), ua.AttributeIDValue, heartbeatHandle)
	hb.RequestedParameters.SamplingInterval = float64(heartbeatInterval / time.Millisecond)
	hb.RequestedParameters.QueueSize = 1
	reqs = append(reqs, hb)

	for _, part := range chunks(reqs, cl.lim.monitor) {
		res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, part...)
		if err != nil {
			return 0, nil, fmt.Errorf("opcua: create %d monitored items on %s: %w", len(part), c.opts.Endpoint, err)
		}
		if len(res.Results) != len(part) {
			return 0, nil, fmt.Errorf("opcua: create monitored items on %s: %d results for %d items", c.opts.Endpoint, len(res.Results), len(part))
		}
		for i, r := range res.Results {
			h := part[i].RequestedParameters.ClientHandle
			switch {
			case h == heartbeatHandle:
				if r.StatusCode != ua.StatusOK {
					c.log.Debug("opcua: no heartbeat item", "status", r.StatusCode)
				}
			case r.StatusCode == ua.StatusOK:
				ok++
			default:
				tid, _ := tagOf(h)
				c.log.Warn("opcua: monitored item refused", "node", part[i].ItemToMonitor.NodeID, "status", r.StatusCode)
				c.table.Invalidate([]tags.ID{tid}, uint32(r.StatusCode), now)
				missing = append(missing, fmt.Sprintf("%s (%s): %s", c.table.Name(tid), part[i].ItemToMonitor.NodeID, StatusName(r.StatusCode)))
			}
		}
	}
	return ok, missing, nil
}

// filter returns the DataChangeFilter for the deadband, nil for none (every change).
func (d Deadband) filter() *ua.ExtensionObject {
	var t ua.DeadbandType
	switch d.Kind {
	case "absolute":
		t = ua.DeadbandTypeAbsolute
	case "percent":
		t = ua.DeadbandTypePercent
	default:
		return nil
	}
	return ua.NewExtensionObject(&ua.DataChangeFilter{
		Trigger:       ua.DataChangeTriggerStatusValue,
		DeadbandType:  uint32(t),
		DeadbandValue: d.Value,
	})
}
