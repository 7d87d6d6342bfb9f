package engine

import (
	"errors"
	"math"
	"time"

	"minebrain/app/opcua"
	"minebrain/app/pki"
)

// nonNil makes a nil list an empty one, so the JSON has [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Status is the state of every connection (Contract 2: Status()).
type Status struct {
	// Now is the engine's clock in ms since the epoch, so the UI can age values without
	// trusting the viewer's clock.
	Now         int64        `json:"now"`
	Connections []Connection `json:"connections"`
	// History is the historian recorder's state; absent when history is off.
	History *History `json:"history,omitempty"`
}

// History is the state of recording samples into the historian file.
type History struct {
	// State is recording, or failing while samples are being lost (the writer's commits
	// fail, or it is so far behind that samples were dropped within the last minute).
	State     string `json:"state"`
	LastError string `json:"lastError"`
	// Dropped counts samples that could not be recorded since start.
	Dropped int64 `json:"dropped"`
	// File is the historian database.
	File string `json:"file"`
}

// Connection is one OPC UA connection's status.
type Connection struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	// State is connecting, connected, stale or disconnected.
	State     string `json:"state"`
	LastError string `json:"lastError"`
	// LastDataAt is when anything last arrived, ms since the epoch; 0 before the first.
	LastDataAt int64 `json:"lastDataAt"`
	// Items is the number of monitored signals.
	Items int `json:"items"`
	// Rate is data changes per second.
	Rate float64 `json:"rate"`
	// Security is the endpoint in use: policy · mode · login; empty before the first.
	Security string `json:"security"`
	// Problems are what the connection cannot monitor (a node the server does not have, a
	// browse rule that finds nothing); the rest of its items are unaffected.
	Problems []string `json:"problems"`
	// Certificate is set while the server's certificate is refused, for the trust prompt.
	Certificate *CertificatePrompt `json:"certificate,omitempty"`
}

// CertificatePrompt is a server certificate waiting for someone to trust it.
type CertificatePrompt struct {
	// Reason is "untrusted" (never seen) or "changed" (another one is pinned).
	Reason     string `json:"reason"`
	Thumbprint string `json:"thumbprint"`
	Subject    string `json:"subject"`
	Issuer     string `json:"issuer"`
	// ApplicationURI is the certificate's, which should be the server's.
	ApplicationURI string `json:"applicationUri"`
	// NotBefore and NotAfter are the validity, ms since the epoch.
	NotBefore int64 `json:"notBefore"`
	NotAfter  int64 `json:"notAfter"`
	// Pinned is the thumbprint of the certificate the connection expected, for "changed".
	Pinned string `json:"pinned,omitempty"`
}

// certificatePrompt returns the prompt for a connection error that is a refused certificate.
func certificatePrompt(err error) *CertificatePrompt {
	var untrusted *pki.UntrustedError
	var changed *pki.PinMismatchError
	var p CertificatePrompt
	var in pki.Info
	switch {
	case errors.As(err, &untrusted):
		p.Reason, in = "untrusted", untrusted.Info
	case errors.As(err, &changed):
		p.Reason, in, p.Pinned = "changed", changed.Presented, changed.Pinned
	default:
		return nil
	}
	p.Thumbprint, p.Subject, p.Issuer, p.ApplicationURI = in.Thumbprint, in.Subject, in.Issuer, in.ApplicationURI
	p.NotBefore, p.NotAfter = in.NotBefore.UnixMilli(), in.NotAfter.UnixMilli()
	return &p
}

func connectionOf(s opcua.Status) Connection {
	return Connection{
		Name:        s.Name,
		Endpoint:    s.Endpoint,
		State:       string(s.State),
		LastError:   s.LastError,
		LastDataAt:  millis(s.LastDataAt),
		Items:       s.Items,
		Rate:        math.Round(s.Rate*10) / 10,
		Security:    s.Security,
		Problems:    nonNil(s.Problems),
		Certificate: certificatePrompt(s.Err),
	}
}

func statusOf(now time.Time, conns ...opcua.Status) Status {
	st := Status{Now: now.UnixMilli(), Connections: make([]Connection, len(conns))}
	for i, c := range conns {
		st.Connections[i] = connectionOf(c)
	}
	return st
}
