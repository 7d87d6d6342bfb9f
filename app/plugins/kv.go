package plugins

import (
	"context"
	"database/sql"
	"fmt"
)

// DB is what plugins needs of the historian Store: the plugin_kv table lives in the
// historian's file and is written on the historian's single writer.
type DB interface {
	Migrate(ctx context.Context, part string, steps ...string) error
	Write(ctx context.Context, fn func(*sql.Tx) error) error
	ReadDB() *sql.DB
}

// Part is the name of this package's tables in the historian's schema_parts.
const Part = "plugins"

// migrations: append, never edit.
var migrations = []string{
	`CREATE TABLE plugin_kv (
		plugin TEXT NOT NULL,
		key    BLOB NOT NULL,
		value  BLOB NOT NULL,
		PRIMARY KEY (plugin, key)) WITHOUT ROWID`,
}

// The key-value limits of sdk/ABI.md.
const (
	kvMaxKey   = 256
	kvMaxValue = 64 << 10
	kvMaxKeys  = 1000
	kvMaxBytes = 1 << 20 // keys plus values
)

type kvEntry struct {
	key     string
	val     []byte
	deleted bool // removed but not yet flushed
	dirty   bool // in kvStore.dirty
}

// kvStore is one plugin's key-value state: an in-memory copy serving reads, the keys changed
// since the last flush, and flush writing them in one job. Steady-state sets of an existing
// key whose value fits its buffer allocate nothing.
type kvStore struct {
	id    string
	m     map[string]*kvEntry
	keys  int // live keys
	size  int // live bytes, keys plus values
	dirty []*kvEntry
}

func newKV(id string) *kvStore { return &kvStore{id: id, m: map[string]*kvEntry{}} }

// loadKV reads a plugin's stored state.
func loadKV(ctx context.Context, db DB, id string) (*kvStore, error) {
	kv := newKV(id)
	if db == nil {
		return kv, nil
	}
	rows, err := db.ReadDB().QueryContext(ctx, "SELECT key, value FROM plugin_kv WHERE plugin = ?", id)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: reading its stored state: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		kv.m[string(k)] = &kvEntry{key: string(k), val: v}
		kv.keys++
		kv.size += len(k) + len(v)
	}
	return kv, rows.Err()
}

func (kv *kvStore) get(key []byte) ([]byte, bool) {
	e := kv.m[string(key)]
	if e == nil || e.deleted {
		return nil, false
	}
	return e.val, true
}

func (kv *kvStore) markDirty(e *kvEntry) {
	if !e.dirty {
		e.dirty = true
		kv.dirty = append(kv.dirty, e)
	}
}

// set stores val under key; false when a limit would be exceeded.
func (kv *kvStore) set(key, val []byte) bool {
	if len(key) < 1 || len(key) > kvMaxKey || len(val) > kvMaxValue {
		return false
	}
	e := kv.m[string(key)]
	if e != nil && !e.deleted {
		if kv.size-len(e.val)+len(val) > kvMaxBytes {
			return false
		}
		kv.size += len(val) - len(e.val)
		e.val = append(e.val[:0], val...)
		kv.markDirty(e)
		return true
	}
	if kv.keys+1 > kvMaxKeys || kv.size+len(key)+len(val) > kvMaxBytes {
		return false
	}
	if e == nil {
		e = &kvEntry{key: string(key)}
		kv.m[e.key] = e
	}
	e.deleted = false
	e.val = append(e.val[:0], val...)
	kv.keys++
	kv.size += len(key) + len(val)
	kv.markDirty(e)
	return true
}

func (kv *kvStore) delete(key []byte) {
	e := kv.m[string(key)]
	if e == nil || e.deleted {
		return
	}
	e.deleted = true
	kv.keys--
	kv.size -= len(e.key) + len(e.val)
	kv.markDirty(e)
}

type kvChange struct {
	key string
	val []byte // nil: delete
}

// take returns the changes since the last take and forgets them.
func (kv *kvStore) take() []kvChange {
	if len(kv.dirty) == 0 {
		return nil
	}
	ch := make([]kvChange, len(kv.dirty))
	for i, e := range kv.dirty {
		e.dirty = false
		ch[i].key = e.key
		if e.deleted {
			delete(kv.m, e.key)
		} else {
			ch[i].val = append(make([]byte, 0, len(e.val)), e.val...)
		}
		kv.dirty[i] = nil
	}
	kv.dirty = kv.dirty[:0]
	return ch
}

// forget clears the changes since the last take without copying them (no database).
func (kv *kvStore) forget() {
	for i, e := range kv.dirty {
		e.dirty = false
		if e.deleted {
			delete(kv.m, e.key)
		}
		kv.dirty[i] = nil
	}
	kv.dirty = kv.dirty[:0]
}

// writeKV commits a plugin's changes in one job.
func writeKV(ctx context.Context, db DB, id string, ch []kvChange) error {
	if db == nil || len(ch) == 0 {
		return nil
	}
	return db.Write(ctx, func(tx *sql.Tx) error {
		for _, c := range ch {
			var err error
			if c.val == nil {
				_, err = tx.ExecContext(ctx, "DELETE FROM plugin_kv WHERE plugin = ? AND key = ?", id, []byte(c.key))
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO plugin_kv(plugin, key, value) VALUES (?, ?, ?)
					ON CONFLICT(plugin, key) DO UPDATE SET value = excluded.value`, id, []byte(c.key), c.val)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
