package web

import (
	"encoding/json"
	"errors"
	"fmt"

	"minebrain/app/engine"
)

// errNotLoggedIn answers a call on a socket whose session has ended; the socket is being
// closed with code 4401.
var errNotLoggedIn = errors.New("not logged in")

// callAs runs one call of a session's socket as that session's user. Each call counts as
// activity, and the user is looked up again every few seconds so that disabling them ends
// the session.
func (s *Server) callAs(sess *session, method string, params []json.RawMessage) (any, error) {
	if !s.sessions.touch(sess) {
		return nil, errNotLoggedIn
	}
	if s.sessions.checkDue(sess) && !s.checkUser(sess) {
		return nil, errNotLoggedIn
	}
	return s.call(s.sessions.actor(sess), method, params)
}

// call runs one engine method by its Contract-2 name as actor a. The names and positional
// parameters are the ones the desktop face binds.
func (s *Server) call(a engine.Actor, method string, params []json.RawMessage) (any, error) {
	if method == "" {
		return nil, errors.New("missing method")
	}
	m, ok := methods[method]
	if !ok {
		return nil, fmt.Errorf("unknown method %q", method)
	}
	return m(s, a, args{method: method, raw: params})
}

// rpcMethod is one engine method carried over the WebSocket.
type rpcMethod func(s *Server, a engine.Actor, p args) (any, error)

// methods maps each RPC name to its engine call. The engine checks the actor's role.
var methods = map[string]rpcMethod{
	// The plant picture.
	"Model":    func(s *Server, _ engine.Actor, p args) (any, error) { return s.e.Model(), p.none() },
	"Snapshot": func(s *Server, _ engine.Actor, p args) (any, error) { return s.e.Snapshot(), p.none() },
	"Status":   func(s *Server, _ engine.Actor, p args) (any, error) { return s.e.Status(), p.none() },
	"Ready": func(s *Server, _ engine.Actor, p args) (any, error) {
		var info engine.ReadyInfo
		if err := p.optional(&info); err != nil {
			return nil, err
		}
		s.e.Ready(info)
		return nil, nil
	},
	"History": func(s *Server, _ engine.Actor, p args) (any, error) {
		var req engine.HistoryRequest
		if err := p.decode(&req); err != nil {
			return nil, err
		}
		return s.e.History(req)
	},

	// Connections.
	"TrustCertificate": func(s *Server, a engine.Actor, p args) (any, error) {
		var conn, thumb string
		if err := p.decode(&conn, &thumb); err != nil {
			return nil, err
		}
		return nil, s.e.TrustCertificate(a, conn, thumb)
	},
	"Browse": func(s *Server, _ engine.Actor, p args) (any, error) {
		var conn, node string
		if err := p.decode(&conn, &node); err != nil {
			return nil, err
		}
		return s.e.Browse(conn, node)
	},
	"AddNode": func(s *Server, a engine.Actor, p args) (any, error) {
		var conn, node, tag string
		if err := p.decode(&conn, &node, &tag); err != nil {
			return nil, err
		}
		return nil, s.e.AddNode(a, conn, node, tag)
	},

	// Alarms.
	"Alarms": func(s *Server, a engine.Actor, p args) (any, error) {
		if err := p.none(); err != nil {
			return nil, err
		}
		return s.e.Alarms(a)
	},
	"AcknowledgeAlarms": func(s *Server, a engine.Actor, p args) (any, error) {
		var ids []string
		if err := p.decode(&ids); err != nil {
			return nil, err
		}
		return s.e.AcknowledgeAlarms(a, ids)
	},
	"ShelveAlarm": func(s *Server, a engine.Actor, p args) (any, error) {
		var id, reason string
		var minutes float64
		if err := p.decode(&id, &reason, &minutes); err != nil {
			return nil, err
		}
		return nil, s.e.ShelveAlarm(a, id, reason, minutes)
	},
	"UnshelveAlarm": func(s *Server, a engine.Actor, p args) (any, error) {
		var id string
		if err := p.decode(&id); err != nil {
			return nil, err
		}
		return nil, s.e.UnshelveAlarm(a, id)
	},
	"ResetAlarm": func(s *Server, a engine.Actor, p args) (any, error) {
		var id string
		if err := p.decode(&id); err != nil {
			return nil, err
		}
		return nil, s.e.ResetAlarm(a, id)
	},
	"RemoveAlarmFromService": func(s *Server, a engine.Actor, p args) (any, error) {
		var id, reason string
		if err := p.decode(&id, &reason); err != nil {
			return nil, err
		}
		return nil, s.e.RemoveAlarmFromService(a, id, reason)
	},
	"ReturnAlarmToService": func(s *Server, a engine.Actor, p args) (any, error) {
		var id, reason string
		if err := p.decode(&id, &reason); err != nil {
			return nil, err
		}
		return nil, s.e.ReturnAlarmToService(a, id, reason)
	},
	"AlarmHistory": func(s *Server, a engine.Actor, p args) (any, error) {
		var q engine.AlarmHistoryQuery
		if err := p.optional(&q); err != nil {
			return nil, err
		}
		return s.e.AlarmHistory(a, q)
	},
	"AlarmKPIs": func(s *Server, a engine.Actor, p args) (any, error) {
		if err := p.none(); err != nil {
			return nil, err
		}
		return s.e.AlarmKPIs(a)
	},

	// Control: select before operate.
	"ControlPanel": func(s *Server, a engine.Actor, p args) (any, error) {
		var unit string
		if err := p.decode(&unit); err != nil {
			return nil, err
		}
		return s.e.ControlPanel(a, unit)
	},
	"SelectCommand": func(s *Server, a engine.Actor, p args) (any, error) {
		var req engine.CommandRequest
		if err := p.decode(&req); err != nil {
			return nil, err
		}
		return s.e.SelectCommand(a, req)
	},
	"OperateCommand": func(s *Server, a engine.Actor, p args) (any, error) {
		var id, reason string
		if err := p.decode(&id, &reason); err != nil {
			return nil, err
		}
		return s.e.OperateCommand(a, id, reason)
	},
	"CancelCommand": func(s *Server, a engine.Actor, p args) (any, error) {
		var id string
		if err := p.decode(&id); err != nil {
			return nil, err
		}
		return nil, s.e.CancelCommand(a, id)
	},

	// Audit.
	"Audit": func(s *Server, a engine.Actor, p args) (any, error) {
		var q engine.AuditQuery
		if err := p.optional(&q); err != nil {
			return nil, err
		}
		return s.e.Audit(a, q)
	},
	"VerifyAudit": func(s *Server, a engine.Actor, p args) (any, error) {
		if err := p.none(); err != nil {
			return nil, err
		}
		return s.e.VerifyAudit(a)
	},

	// Plugins.
	"Plugins": func(s *Server, a engine.Actor, p args) (any, error) {
		if err := p.none(); err != nil {
			return nil, err
		}
		return s.e.Plugins(a)
	},
	"AvailablePlugins": func(s *Server, a engine.Actor, p args) (any, error) {
		if err := p.none(); err != nil {
			return nil, err
		}
		return s.e.AvailablePlugins(a)
	},
	"LoadPlugin": func(s *Server, a engine.Actor, p args) (any, error) {
		var path string
		if err := p.decode(&path); err != nil {
			return nil, err
		}
		return s.e.LoadPlugin(a, path)
	},
	"ReloadPlugin": func(s *Server, a engine.Actor, p args) (any, error) {
		var id string
		if err := p.decode(&id); err != nil {
			return nil, err
		}
		return nil, s.e.ReloadPlugin(a, id)
	},
	"RemovePlugin": func(s *Server, a engine.Actor, p args) (any, error) {
		var id string
		if err := p.decode(&id); err != nil {
			return nil, err
		}
		return nil, s.e.RemovePlugin(a, id)
	},
	"SetPluginMode": func(s *Server, a engine.Actor, p args) (any, error) {
		var id, mode string
		if err := p.decode(&id, &mode); err != nil {
			return nil, err
		}
		return nil, s.e.SetPluginMode(a, id, mode)
	},

	// Users. A change to a user applies to their open sessions at once.
	"Users": func(s *Server, a engine.Actor, p args) (any, error) {
		if err := p.none(); err != nil {
			return nil, err
		}
		return s.e.Users(a)
	},
	"AddUser": func(s *Server, a engine.Actor, p args) (any, error) {
		var name, role, password string
		if err := p.decode(&name, &role, &password); err != nil {
			return nil, err
		}
		return nil, s.e.AddUser(a, name, role, password)
	},
	"SetUserRole": func(s *Server, a engine.Actor, p args) (any, error) {
		var name, role string
		if err := p.decode(&name, &role); err != nil {
			return nil, err
		}
		if err := s.e.SetUserRole(a, name, role); err != nil {
			return nil, err
		}
		s.recheckUser(name)
		return nil, nil
	},
	"SetUserPassword": func(s *Server, a engine.Actor, p args) (any, error) {
		var name, password string
		if err := p.decode(&name, &password); err != nil {
			return nil, err
		}
		return nil, s.e.SetUserPassword(a, name, password)
	},
	"SetUserDisabled": func(s *Server, a engine.Actor, p args) (any, error) {
		var name string
		var disabled bool
		if err := p.decode(&name, &disabled); err != nil {
			return nil, err
		}
		if err := s.e.SetUserDisabled(a, name, disabled); err != nil {
			return nil, err
		}
		s.recheckUser(name)
		return nil, nil
	},
	"ChangeOwnPassword": func(s *Server, a engine.Actor, p args) (any, error) {
		var old, new string
		if err := p.decode(&old, &new); err != nil {
			return nil, err
		}
		return nil, s.e.ChangeOwnPassword(a, old, new)
	},
}

// args are a call's positional parameters.
type args struct {
	method string
	raw    []json.RawMessage
}

// decode decodes exactly len(dst) parameters, in order.
func (p args) decode(dst ...any) error {
	if len(p.raw) != len(dst) {
		return fmt.Errorf("%s: want %d parameter(s), got %d", p.method, len(dst), len(p.raw))
	}
	for i, r := range p.raw {
		if err := json.Unmarshal(r, dst[i]); err != nil {
			return fmt.Errorf("%s: bad parameter %d: %v", p.method, i+1, err)
		}
	}
	return nil
}

// optional decodes up to len(dst) parameters; missing ones keep their zero value.
func (p args) optional(dst ...any) error {
	if len(p.raw) > len(dst) {
		return fmt.Errorf("%s: want at most %d parameter(s), got %d", p.method, len(dst), len(p.raw))
	}
	return args{method: p.method, raw: p.raw}.decode(dst[:len(p.raw)]...)
}

// none refuses parameters for a method that takes none.
func (p args) none() error {
	if len(p.raw) != 0 {
		return fmt.Errorf("%s: want no parameters, got %d", p.method, len(p.raw))
	}
	return nil
}
