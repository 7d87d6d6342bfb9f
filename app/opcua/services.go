package opcua

import (
	"context"
	"fmt"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// Requests are split into chunks because servers limit the size of a message (gopcua's server
// drops the connection on any message over about 64 KiB) and the number of operations per
// call. A browse result can hold many references per node, so browse chunks are smaller.
const (
	browseChunk  = 100
	readChunk    = 250
	monitorChunk = 250
)

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
func browseChildren(ctx context.Context, cl *opcua.Client, nodes []*ua.NodeID) ([][]*ua.ReferenceDescription, error) {
	out := make([][]*ua.ReferenceDescription, 0, len(nodes))
	for _, part := range chunks(nodes, browseChunk) {
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
func browseRest(ctx context.Context, cl *opcua.Client, node *ua.NodeID, cp []byte) ([]*ua.ReferenceDescription, error) {
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
func readAttributes(ctx context.Context, cl *opcua.Client, ids []*ua.ReadValueID) ([]*ua.DataValue, error) {
	out := make([]*ua.DataValue, 0, len(ids))
	for _, part := range chunks(ids, readChunk) {
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
