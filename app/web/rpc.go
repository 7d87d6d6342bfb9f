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
	case "":
		return nil, fmt.Errorf("missing method")
	default:
		return nil, fmt.Errorf("unknown method %q", method)
	}
}
