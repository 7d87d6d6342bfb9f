package engine

import (
	"context"
	"fmt"

	"minebrain/app/opcua"
	"minebrain/app/pki"
	"minebrain/app/site"
)

// link is one running site connection and the part of the model its equipment makes.
type link struct {
	site     site.Connection
	endpoint string // dialled; the simulator's real address for an embedded connection
	conn     *opcua.Connection
	areas    []Area // this connection's equipment; nil until discovered
}

// builtinSite is the site used without a site file: the embedded simulated mine, or the one
// server an --endpoint names.
func builtinSite(endpoint string) (*site.Site, error) {
	if endpoint == "" {
		return site.Default(), nil
	}
	return site.DefaultFor(endpoint)
}

// connectionOptions turns a site connection into app/opcua options. endpoint is the address
// to dial (the simulator's, for an embedded connection). Passwords are read here, at start,
// so a missing password file fails loudly before any connection is tried.
func connectionOptions(sc site.Connection, endpoint string, cfg Config) (opcua.Options, error) {
	o := opcua.Options{
		Name:             sc.Name,
		Endpoint:         endpoint,
		PublishInterval:  sc.PublishInterval,
		SamplingInterval: sc.SamplingInterval,
		StaleAfter:       sc.StaleAfter,
		ReconnectMin:     cfg.ReconnectMin,
		ReconnectMax:     cfg.ReconnectMax,
		Logger:           cfg.Logger,
		Security: opcua.Security{
			Policy:    sc.Security.Policy,
			Mode:      sc.Security.Mode,
			TrustName: sc.Name,
		},
	}
	if cfg.PublishInterval > 0 {
		o.PublishInterval = cfg.PublishInterval
	}
	if cfg.StaleAfter > 0 {
		o.StaleAfter = cfg.StaleAfter
	}
	switch {
	case sc.Auth.Username != "":
		pw, err := sc.Auth.Password()
		if err != nil {
			return o, err
		}
		o.Security.Identity = opcua.Identity{Username: sc.Auth.Username, Password: pw}
	case sc.Auth.Certificate != "":
		der, key, err := opcua.LoadCertificateAndKey(sc.Auth.Certificate, sc.Auth.Key)
		if err != nil {
			return o, err
		}
		o.Security.Identity = opcua.Identity{CertificateDER: der, Key: key}
	}
	o.Select = selectionOf(sc)
	return o, nil
}

// selectionOf is what a site connection monitors, in app/opcua's terms.
func selectionOf(sc site.Connection) opcua.Selection {
	var sel opcua.Selection
	if sc.Equipment != nil {
		sel.Equipment = []opcua.EquipmentRoot{{NamespaceURI: sc.Equipment.Namespace, Root: sc.Equipment.Root}}
	}
	for _, b := range sc.Browse {
		sel.Browse = append(sel.Browse, opcua.BrowseRule{
			Under: b.Under, Match: b.Match, Area: b.Area, Deadband: deadband(b.Deadband),
		})
	}
	for _, n := range sc.Nodes {
		sel.Nodes = append(sel.Nodes, opcua.NodeRule{Node: n.Node, Tag: n.Tag, Deadband: deadband(n.Deadband)})
	}
	return sel
}

func deadband(d site.Deadband) opcua.Deadband { return opcua.Deadband{Kind: d.Kind, Value: d.Value} }

// secure gives options that need them the application certificate and the trust store, opening
// the PKI directory (and making the certificate) on first use.
func (e *Engine) secure(o *opcua.Options) error {
	if !o.Security.NeedsPKI() {
		return nil
	}
	e.mu.Lock()
	store := e.pki
	e.mu.Unlock()
	if store == nil {
		if e.cfg.PKIDir == "" {
			return fmt.Errorf("connection %s needs certificates, but no PKI directory is configured", o.Name)
		}
		var err error
		if store, err = pki.Open(e.cfg.PKIDir); err != nil {
			return err
		}
		e.mu.Lock()
		e.pki = store
		e.mu.Unlock()
	}
	uri := pki.ApplicationURI()
	der, key, err := store.Own(uri, "Minebrain")
	if err != nil {
		return err
	}
	o.Security.Certificate = &opcua.AppCertificate{DER: der, Key: key, ApplicationURI: uri}
	o.Security.Trust = store
	return nil
}

// connect creates the OPC UA connection of a site connection and runs it, with the goroutines
// that follow its status and its equipment, until runCtx ends.
func (e *Engine) connect(runCtx context.Context, sc site.Connection, endpoint string) error {
	opts, err := connectionOptions(sc, endpoint, e.cfg)
	if err == nil {
		err = e.secure(&opts)
	}
	var conn *opcua.Connection
	if err == nil {
		conn, err = opcua.New(opts, e.table)
	}
	if err != nil {
		return fmt.Errorf("engine: %s: %w", e.cfg.Site.Where(sc), err)
	}
	l := &link{site: sc, endpoint: endpoint, conn: conn}
	e.mu.Lock()
	e.links = append(e.links, l)
	e.mu.Unlock()

	e.wg.Add(3)
	go func() {
		defer e.wg.Done()
		if err := conn.Run(runCtx); err != nil {
			e.log.Error("engine: connection stopped", "conn", sc.Name, "err", err)
		}
	}()
	go func() {
		defer e.wg.Done()
		e.broadcastStatus(runCtx, conn)
	}()
	go func() {
		defer e.wg.Done()
		e.followEquipment(runCtx, l)
	}()
	return nil
}

// followEquipment keeps the model in step with the equipment a connection discovers: at the
// first discovery, and whenever a new session finds a different address space.
func (e *Engine) followEquipment(ctx context.Context, l *link) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.conn.EquipmentChanged():
			m := buildModel("", l.conn.Equipment())
			for _, a := range m.Areas {
				for i := range a.Units {
					a.Units[i].Connection = l.site.Name
				}
			}
			e.mu.Lock()
			l.areas = m.Areas
			rec := e.rec
			e.mu.Unlock()
			merged := e.mergedModel()
			if rec != nil {
				rec.applyCompression(merged)
			}
			e.setModel(merged)
		}
	}
}

// mergedModel joins every connection's areas in site order; an area two connections share
// holds the units of both.
func (e *Engine) mergedModel() Model {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := Model{Site: e.cfg.Site.Name, Areas: []Area{}}
	index := map[string]int{}
	for _, l := range e.links {
		for _, a := range l.areas {
			i, ok := index[a.Name]
			if !ok {
				index[a.Name] = len(m.Areas)
				m.Areas = append(m.Areas, Area{Name: a.Name, Units: append([]Unit(nil), a.Units...)})
				continue
			}
			m.Areas[i].Units = append(m.Areas[i].Units, a.Units...)
		}
	}
	return m
}

// setModel replaces the model and sends it to every subscriber as a model event.
func (e *Engine) setModel(m Model) {
	e.mu.Lock()
	e.model = m
	select {
	case <-e.modelKnown:
	default:
		close(e.modelKnown)
	}
	e.mu.Unlock()
	e.notifySubscribers(func(s *subscriber) chan struct{} { return s.model })
	e.log.Info("engine: model", "units", m.UnitCount(), "tags", e.table.Len())
}
