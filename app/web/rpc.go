package web

import (
	"encoding/json"
	"fmt"

	"minebrain/app/engine"
)

// call runs one engine method by its Contract-2 name. The names and parameters are the same
// the desktop face binds.
func (s *Server) call(method string, params []json.RawMessage) (any, error) {
	switch method {
	case "Model":
		return s.e.Model(), nil
	case "Snapshot":
		return s.e.Snapshot(), nil
	case "Status":
		return s.e.Status(), nil
	case "Ready":
		var info engine.ReadyInfo
		if len(params) > 0 {
			if err := json.Unmarshal(params[0], &info); err != nil {
				return nil, fmt.Errorf("Ready: bad parameter: %v", err)
			}
		}
		s.e.Ready(info)
		return nil, nil
	case "TrustCertificate":
		var conn, thumb string
		if err := stringParams(method, params, &conn, &thumb); err != nil {
			return nil, err
		}
		return nil, s.e.TrustCertificate(conn, thumb)
	case "Browse":
		var conn, node string
		if err := stringParams(method, params, &conn, &node); err != nil {
			return nil, err
		}
		return s.e.Browse(conn, node)
	case "AddNode":
		var conn, node, tag string
		if err := stringParams(method, params, &conn, &node, &tag); err != nil {
			return nil, err
		}
		return nil, s.e.AddNode(conn, node, tag)
	case "History":
		var req engine.HistoryRequest
		if len(params) != 1 {
			return nil, fmt.Errorf("History: want 1 parameter, got %d", len(params))
		}
		if err := json.Unmarshal(params[0], &req); err != nil {
			return nil, fmt.Errorf("History: bad parameter: %v", err)
		}
		return s.e.History(req)
	case "":
		return nil, fmt.Errorf("missing method")
	default:
		return nil, fmt.Errorf("unknown method %q", method)
	}
}

// stringParams decodes exactly len(dst) string parameters.
func stringParams(method string, params []json.RawMessage, dst ...*string) error {
	if len(params) != len(dst) {
		return fmt.Errorf("%s: want %d parameters, got %d", method, len(dst), len(params))
	}
	for i, p := range params {
		if err := json.Unmarshal(p, dst[i]); err != nil {
			return fmt.Errorf("%s: parameter %d is not a string: %v", method, i+1, err)
		}
	}
	return nil
}
