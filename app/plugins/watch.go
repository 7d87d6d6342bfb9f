package plugins

import (
	"os"
	"time"
)

type fileStamp struct {
	manifest, wasm time.Time
	msize, wsize   int64
}

func stampOf(manifestPath, wasmPath string) (fileStamp, error) {
	var s fileStamp
	fi, err := os.Stat(manifestPath)
	if err != nil {
		return s, err
	}
	s.manifest, s.msize = fi.ModTime(), fi.Size()
	fi, err = os.Stat(wasmPath)
	if err != nil {
		return s, err
	}
	s.wasm, s.wsize = fi.ModTime(), fi.Size()
	return s, nil
}

// watch reloads plugins whose manifest or module changed (Options.Watch).
func (r *Runtime) watch() {
	defer close(r.watchDone)
	t := time.NewTicker(r.opts.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		var changed []*plugin
		for _, p := range r.plugins {
			s, err := stampOf(p.path, p.wasmPath)
			if err == nil && s != p.stamp {
				p.stamp = s // a refused reload is retried only after the next change
				changed = append(changed, p)
			}
		}
		r.mu.Unlock()
		for _, p := range changed {
			r.opts.Logger.Info(MsgReloading, PluginKey, p.id, "file", p.path)
			if err := r.Reload(p.id); err != nil {
				r.opts.Logger.Warn(MsgReloadRefused, PluginKey, p.id, "err", err)
			}
		}
	}
}
