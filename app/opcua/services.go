package opcua

import (
	"context"
	"fmt"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// uaClient is a connected gopcua client with the operation limits its server advertised.
// Every request is split to fit them, because servers refuse (or, like gopcua's server, drop
// the connection on) requests that are too large.
type uaClient struct {
	*opcua.Client
	lim limits
}

// limits are the operation counts per request.
type limits struct {
	browse, read, monitor int
}

// Defaults when the server advertises nothing. A browse result can hold many references per
// node, so browse requests are smaller; gopcua's server drops any message over about 64 KiB.
var defaultLimits = limits{browse: 100, read: 250, monitor: 250}

// maxAdvertised bounds an advertised limit, so one request stays a few hundred KiB at most.
const maxAdvertised = 2000

// newUAClient reads the server's OperationLimits (MaxNodesPerBrowse, MaxNodesPerRead,
// MaxMonitoredItemsPerCall). A limit the server advertises is used as it is, up to
// maxAdvertised: a server that names its limits has sized its messages for them, and fewer
// round trips matter (10,000 items on node-opcua: 40 calls of 250 take several seconds).
// Where it advertises nothing the defaults stay. A server that does not answer gets the
// defaults: the limits are an optimisation, never a reason to fail a session.
func newUAClient(ctx context.Context, cl *opcua.Client) *uaClient {
	s := &uaClient{Client: cl, lim: defaultLimits}
	res, err := cl.Read(ctx, &ua.ReadRequest{
		NodesToRead: []*ua.ReadValueID{
			{NodeID: ua.NewNumericNodeID(0, id.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse), AttributeID: ua.AttributeIDValue},
			{NodeID: ua.NewNumericNodeID(0, id.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead), AttributeID: ua.AttributeIDValue},
			{NodeID: ua.NewNumericNodeID(0, id.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall), AttributeID: ua.AttributeIDValue},
		},
		TimestampsToReturn: ua.TimestampsToReturnNeither,
	})
	if err != nil || len(res.Results) != 3 {
		return s
	}
	for i, p := range []*int{&s.lim.browse, &s.lim.read, &s.lim.monitor} {
		if n, ok := goodValue(res.Results[i]).(uint32); ok && n > 0 {
			*p = min(int(n), maxAdvertised)
		}
	}
	return s
}

// chunks splits s into consecutive slices of at most size elements.
func chunks[T any](s []T, size int) [][]T {
	var out [][]T
	for len(s) > size {
		out = append(out, s[:size:size])
		s = s[size:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// browseChildren returns, for each node, its forward hierarchical references (Organizes,
// HasComponent, HasProperty and their subtypes), following continuation points.
func browseChildren(ctx context.Context, cl *uaClient, nodes []*ua.NodeID) ([][]*ua.ReferenceDescription, error) {
	out := make([][]*ua.ReferenceDescription, 0, len(nodes))
	for _, part := range chunks(nodes, cl.lim.browse) {
		req := &ua.BrowseRequest{NodesToBrowse: make([]*ua.BrowseDescription, len(part))}
		for i, n := range part {
			req.NodesToBrowse[i] = &ua.BrowseDescription{
				NodeID:          n,
				BrowseDirection: ua.BrowseDirectionForward,
				ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
				// Also a guard: gopcua's server loops forever on IncludeSubtypes=false here.
				IncludeSubtypes: true,
				ResultMask:      uint32(ua.BrowseResultMaskAll),
			}
		}
		res, err := cl.Browse(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("browse %d nodes from %s: %w", len(part), part[0], err)
		}
		if len(res.Results) != len(part) {
			return nil, fmt.Errorf("browse from %s: %d results for %d nodes", part[0], len(res.Results), len(part))
		}
		for i, r := range res.Results {
			if r.StatusCode == ua.StatusBadNodeIDUnknown {
				// A node that vanished has no children; it must not fail the others.
				out = append(out, nil)
				continue
			}
			if bad(r.StatusCode) {
				return nil, fmt.Errorf("browse %s: %w", part[i], r.StatusCode)
			}
			refs := r.References
			if len(r.ContinuationPoint) > 0 {
				more, err := browseRest(ctx, cl, part[i], r.ContinuationPoint)
				if err != nil {
					return nil, err
				}
				refs = append(refs, more...)
			}
			out = append(out, refs)
		}
	}
	return out, nil
}

// browseRest follows a continuation point to the end.
func browseRest(ctx context.Context, cl *uaClient, node *ua.NodeID, cp []byte) ([]*ua.ReferenceDescription, error) {
	var refs []*ua.ReferenceDescription
	for len(cp) > 0 {
		res, err := cl.BrowseNext(ctx, &ua.BrowseNextRequest{ContinuationPoints: [][]byte{cp}})
		if err != nil {
			return nil, fmt.Errorf("browse next %s: %w", node, err)
		}
		if len(res.Results) != 1 {
			return nil, fmt.Errorf("browse next %s: %d results for 1 node", node, len(res.Results))
		}
		r := res.Results[0]
		if bad(r.StatusCode) {
			return nil, fmt.Errorf("browse next %s: %w", node, r.StatusCode)
		}
		refs = append(refs, r.References...)
		cp = r.ContinuationPoint
	}
	return refs, nil
}

// readAttributes reads the given attributes in chunks and returns the results in order.
func readAttributes(ctx context.Context, cl *uaClient, ids []*ua.ReadValueID) ([]*ua.DataValue, error) {
	out := make([]*ua.DataValue, 0, len(ids))
	for _, part := range chunks(ids, cl.lim.read) {
		res, err := cl.Read(ctx, &ua.ReadRequest{
			NodesToRead:        part,
			TimestampsToReturn: ua.TimestampsToReturnNeither,
		})
		if err != nil {
			return nil, fmt.Errorf("read %d attributes from %s: %w", len(part), part[0].NodeID, err)
		}
		if len(res.Results) != len(part) {
			return nil, fmt.Errorf("read from %s: %d results for %d attributes", part[0].NodeID, len(res.Results), len(part))
		}
		out = append(out, res.Results...)
	}
	return out, nil
}

// goodValue returns the decoded value of a read result, or nil when the read failed.
func goodValue(dv *ua.DataValue) any {
	if dv == nil || dv.Value == nil || bad(dv.Status) {
		return nil
	}
	return dv.Value.Value()
}

// bad reports whether a status code is not Good (uncertain or bad).
func bad(s ua.StatusCode) bool { return uint32(s)>>30 != 0 }
