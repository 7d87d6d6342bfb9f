package pki

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNotFound is wrapped by Trust, Reject and Remove when no certificate matches the
// thumbprint prefix.
var ErrNotFound = errors.New("no such certificate")

// AmbiguousError is returned by Trust, Reject and Remove when a thumbprint prefix matches
// more than one certificate.
type AmbiguousError struct {
	Prefix     string
	Candidates []Info
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "thumbprint %q matches %d certificates; give more of it:", e.Prefix, len(e.Candidates))
	for _, c := range e.Candidates {
		fmt.Fprintf(&b, "\n  %-8s %s %s", c.State, c.Thumbprint, c.Subject)
	}
	return b.String()
}

// match finds the one certificate in dirs whose thumbprint starts with prefix (any case).
// It returns every entry holding it (the same certificate may be in several directories).
func (s *Store) match(prefix string, dirs ...[2]string) ([]entry, error) {
	p := strings.ToLower(strings.TrimSpace(prefix))
	p = strings.NewReplacer(":", "", " ", "").Replace(p) // tools print thumbprints as AB:CD:...
	if p == "" {
		return nil, errors.New("no thumbprint given")
	}
	for _, r := range p {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return nil, fmt.Errorf("thumbprint %q is not hexadecimal", prefix)
		}
	}
	var hits []entry
	thumbs := map[string]bool{}
	var where []string
	for _, d := range dirs {
		es, err := s.readDir(d[0], d[1])
		if err != nil {
			return nil, err
		}
		where = append(where, d[0]+"/")
		for _, e := range es {
			if strings.HasPrefix(e.info.Thumbprint, p) {
				hits = append(hits, e)
				thumbs[e.info.Thumbprint] = true
			}
		}
	}
	switch {
	case len(hits) == 0:
		return nil, fmt.Errorf("%w: no certificate with thumbprint %s… in %s; `minebrain pki list` shows them",
			ErrNotFound, p, strings.Join(where, " or "))
	case len(thumbs) > 1:
		amb := &AmbiguousError{Prefix: prefix}
		seen := map[string]bool{}
		for _, h := range hits {
			if !seen[h.info.Thumbprint] {
				seen[h.info.Thumbprint] = true
				amb.Candidates = append(amb.Candidates, h.info)
			}
		}
		sort.Slice(amb.Candidates, func(i, j int) bool { return amb.Candidates[i].Thumbprint < amb.Candidates[j].Thumbprint })
		return nil, amb
	}
	return hits, nil
}

var (
	inTrusted  = [2]string{dirTrustedCerts, StateTrusted}
	inRejected = [2]string{dirRejected, StateRejected}
)

// Trust trusts the certificate whose thumbprint starts with prefix: it moves it from
// rejected/ to trusted/, or leaves it there if it is trusted already. With conn it also pins
// connection conn to it, replacing the connection's previous pin.
func (s *Store) Trust(prefix, conn string) (Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hits, err := s.match(prefix, inTrusted, inRejected)
	if err != nil {
		return Info{}, err
	}
	in := hits[0].info
	file, err := s.put(dirTrustedCerts, hits[0].der, in)
	if err != nil {
		return Info{}, fmt.Errorf("pki: trust %s: %w", in.Name(), err)
	}
	if err := s.remove(dirRejected, in.Thumbprint); err != nil {
		return Info{}, fmt.Errorf("pki: trust %s: %w", in.Name(), err)
	}
	in.State, in.File = StateTrusted, file
	if conn != "" {
		pins, err := s.readPins()
		if err != nil {
			return Info{}, err
		}
		pins[conn] = in.Thumbprint
		if err := s.writePins(pins); err != nil {
			return Info{}, fmt.Errorf("pki: pin connection %q: %w", conn, err)
		}
	}
	return in, nil
}

// Reject stops trusting the certificate whose thumbprint starts with prefix: it moves it from
// trusted/ to rejected/ and removes the pins to it.
func (s *Store) Reject(prefix string) (Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hits, err := s.match(prefix, inTrusted, inRejected)
	if err != nil {
		return Info{}, err
	}
	in := hits[0].info
	file, err := s.put(dirRejected, hits[0].der, in)
	if err != nil {
		return Info{}, fmt.Errorf("pki: reject %s: %w", in.Name(), err)
	}
	if err := s.remove(dirTrustedCerts, in.Thumbprint); err != nil {
		return Info{}, fmt.Errorf("pki: reject %s: %w", in.Name(), err)
	}
	in.State, in.File = StateRejected, file
	return in, s.unpin(in.Thumbprint)
}

// Remove deletes the certificate whose thumbprint starts with prefix from trusted/ and
// rejected/ (never the own certificate nor issuers/) and removes the pins to it. The
// returned Info has the state it had.
func (s *Store) Remove(prefix string) (Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hits, err := s.match(prefix, inTrusted, inRejected)
	if err != nil {
		return Info{}, err
	}
	in := hits[0].info
	for _, rel := range []string{dirTrustedCerts, dirRejected} {
		if err := s.remove(rel, in.Thumbprint); err != nil {
			return Info{}, fmt.Errorf("pki: remove %s: %w", in.Name(), err)
		}
	}
	return in, s.unpin(in.Thumbprint)
}

// unpin removes every pin to thumb.
func (s *Store) unpin(thumb string) error {
	pins, err := s.readPins()
	if err != nil {
		return err
	}
	changed := false
	for c, t := range pins {
		if t == thumb {
			delete(pins, c)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.writePins(pins)
}
