package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"minebrain/app/opcua"
	"minebrain/app/site"
	"minebrain/app/users"
)

// ReadyInfo is what the frontend reports once it has painted the overview with live values.
type ReadyInfo struct {
	Units  int `json:"units"`
	Values int `json:"values"`
}

// Model returns the site's areas, units and signals. It has no areas until the equipment is
// discovered; every later change comes as a model event too.
func (e *Engine) Model() Model {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.model
}

// Snapshot returns the latest value of every tag that has one.
func (e *Engine) Snapshot() []TagValue {
	return tagValues(e.table.Snapshot())
}

// Status returns the state of every connection.
func (e *Engine) Status() Status {
	e.mu.Lock()
	links, rec := e.links, e.rec
	e.mu.Unlock()
	now := time.Now()
	conns := make([]opcua.Status, len(links))
	for i, l := range links {
		conns[i] = l.conn.Status()
	}
	st := statusOf(now, conns...)
	if rec != nil {
		st.History = rec.status(now)
	}
	return st
}

// Ready records that the frontend painted its first overview. The line it logs is what the
// desktop smoke test waits for.
func (e *Engine) Ready(info ReadyInfo) {
	e.log.Info("engine: frontend ready", "units", info.Units, "values", info.Values)
}

// TrustCertificate trusts the server certificate with that thumbprint (as the connection's
// certificate prompt shows it), pins it to the connection and retries the connection at once.
// It needs an engineer and is audited, allowed or refused.
func (e *Engine) TrustCertificate(a Actor, connection, thumbprint string) error {
	err := a.need(users.Engineer, "trusting a server certificate")
	if err == nil {
		err = e.trustCertificate(connection, thumbprint)
	}
	e.record(a, "certificate.trust", "connection "+connection, outcome(err), "thumbprint "+thumbprint)
	return err
}

func (e *Engine) trustCertificate(connection, thumbprint string) error {
	l := e.link(connection)
	if l == nil {
		return fmt.Errorf("no connection %q", connection)
	}
	e.mu.Lock()
	store := e.pki
	e.mu.Unlock()
	if store == nil {
		return fmt.Errorf("connection %q uses no certificates", connection)
	}
	info, err := store.Trust(thumbprint, connection)
	if err != nil {
		return err
	}
	e.log.Info("engine: server certificate trusted", "conn", connection, "thumbprint", info.Thumbprint, "subject", info.Subject)
	l.conn.RetryNow()
	return nil
}

// link returns the connection of that name, nil if there is none.
func (e *Engine) link(name string) *link {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.links {
		if l.site.Name == name {
			return l
		}
	}
	return nil
}

// Browse lists the address space of a connection's server under node ("" for the Objects
// folder), one level deep: the node itself first, then its children, variables with their
// data type and current value. It uses the connection's own session.
func (e *Engine) Browse(connection, node string) ([]opcua.BrowseNode, error) {
	l := e.link(connection)
	if l == nil {
		return nil, fmt.Errorf("no connection %q", connection)
	}
	root := opcua.ObjectsFolder
	if node != "" {
		var err error
		if root, err = opcua.ParseNodeID(node); err != nil {
			return nil, err
		}
	}
	out := []opcua.BrowseNode{}
	err := l.conn.Browse(context.Background(), root, 1, func(n opcua.BrowseNode) { out = append(out, n) })
	return out, err
}

// AddNode adds an explicit node to a connection: it is written into the site file (the
// built-in site is saved to Config.SiteSavePath first), so it stays after a restart, and the
// connection starts monitoring it at once. The tag is Area.Unit.Signal.
// It needs an engineer and is audited, allowed or refused.
func (e *Engine) AddNode(a Actor, connection, nodeID, tag string) error {
	err := a.need(users.Engineer, "adding a node")
	if err == nil {
		err = e.addNode(connection, nodeID, tag)
	}
	e.record(a, "site.add-node", "connection "+connection, outcome(err), nodeID+" as "+tag)
	return err
}

func (e *Engine) addNode(connection, nodeID, tag string) error {
	l := e.link(connection)
	if l == nil {
		return fmt.Errorf("no connection %q", connection)
	}
	// One edit of the site file at a time, under its own lock: the engine's lock, which
	// Status and Model take, is not held across file I/O.
	e.siteMu.Lock()
	defer e.siteMu.Unlock()
	e.mu.Lock()
	path, base := e.cfg.Site.File, []byte(nil)
	e.mu.Unlock()
	if path == site.DefaultFile {
		if e.cfg.Endpoint != "" {
			return errors.New("nodes can be added only to a site file; start Minebrain with --site FILE instead of --endpoint")
		}
		if e.cfg.SiteSavePath == "" {
			return errors.New("no data directory to save the site file in; start Minebrain with --data DIR or --site FILE")
		}
		path, base = e.cfg.SiteSavePath, site.DefaultYAML()
	}
	s, err := site.AddNode(path, base, connection, nodeID, tag)
	if err != nil {
		return err
	}
	var sc site.Connection
	for _, c := range s.Connections {
		if c.Name == connection {
			sc = c
		}
	}
	if err := l.conn.Reselect(selectionOf(sc)); err != nil {
		return err
	}
	e.mu.Lock()
	e.cfg.Site, l.site = s, sc
	e.mu.Unlock()
	e.log.Info("engine: node added", "conn", connection, "node", nodeID, "tag", tag, "site", path)
	return nil
}
