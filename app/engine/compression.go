package engine

import "minebrain/app/historian"

// applyCompression gives every tag of the model the compression the site's history: rules
// name for it (lossless when none does). A percentage deviation needs the signal's
// engineering range; a signal without one is stored lossless, with a warning. Settings are
// sent to the historian only when they change, so a model event costs nothing.
func (r *recorder) applyCompression(m Model) {
	r.compMu.Lock()
	defer r.compMu.Unlock()
	if r.compressed == nil {
		r.compressed = map[string]historian.Compression{}
	}
	for _, a := range m.Areas {
		for _, u := range a.Units {
			for _, s := range u.Signals {
				c := r.compressionFor(s)
				if old, ok := r.compressed[s.Tag]; ok && old == c {
					continue
				}
				if _, ok := r.compressed[s.Tag]; !ok && c == (historian.Compression{}) {
					r.compressed[s.Tag] = c // lossless is every tag's default already
					continue
				}
				if err := r.store.SetCompression(s.Tag, c); err != nil {
					r.log.Warn("engine: history compression not applied", "tag", s.Tag, "err", err)
					continue
				}
				r.compressed[s.Tag] = c
			}
		}
	}
}

func (r *recorder) compressionFor(s Signal) historian.Compression {
	rule, ok := r.policy.CompressionFor(s.Tag)
	if !ok || rule.Kind == "lossless" {
		return historian.Compression{}
	}
	c := historian.Compression{Kind: historian.Deadband, Deviation: rule.Deviation, MaxInterval: rule.MaxInterval}
	if rule.Kind == "swingingDoor" {
		c.Kind = historian.SwingingDoor
	}
	if rule.DeviationPct > 0 {
		if s.Low == nil || s.High == nil || *s.High <= *s.Low {
			r.log.Warn("engine: history compression in percent needs an engineering range; stored lossless",
				"tag", s.Tag, "rule", rule.Pos.String())
			return historian.Compression{}
		}
		c.DeviationPct, c.Span = rule.DeviationPct, *s.High-*s.Low
	}
	return c
}
