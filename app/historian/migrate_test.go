package historian

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestV1FileMigrated: a file written by schema version 1 opens, is migrated to version 2 in
// place, and keeps its data; its tags start lossless.
func TestV1FileMigrated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	block := []Point{p(0, 1), p(1, 2), p(2, 3)}
	chunk := []Point{p(3, 4), p(4, 5)}
	b := sealBlock(block)
	for _, q := range []string{migrations[0],
		"INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00Z')",
		"INSERT INTO tags(id, name, unit) VALUES (1, 'old', 'bar')",
		"PRAGMA user_version = 1"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO blocks VALUES (1, ?, ?, ?, ?, ?, ?, ?)", b.meta.start, b.meta.end,
		b.meta.count, b.meta.min, b.meta.max, b.meta.appendStats(nil), b.data); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO open_chunks VALUES (1, ?, ?)", chunk[0].T, EncodeBlock(nil, chunk)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openTest(t, path, Options{})
	got, err := s.Range(ctx, "old", t0, t0.Add(time.Hour))
	if err != nil || !samePointList(got, append(block, chunk...)) {
		t.Fatalf("after migration: %v %v", secs(got), err)
	}
	if ti := s.Tags(); len(ti) != 1 || ti[0].Unit != "bar" || ti[0].Compression != (Compression{}) {
		t.Fatalf("tags %+v", ti)
	}
	var uv, versions, idx int
	s.rdb.QueryRow("PRAGMA user_version").Scan(&uv)
	s.rdb.QueryRow("SELECT count(*) FROM schema_version").Scan(&versions)
	s.rdb.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name IN ('blocks_by_end', 'schema_parts')").Scan(&idx)
	if uv != 2 || versions != 2 || idx != 2 {
		t.Fatalf("user_version %d, schema_version rows %d, new objects %d", uv, versions, idx)
	}
	if err := s.SetCompression("old", Compression{Kind: SwingingDoor, Deviation: 0.5}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if r, err := Check(ctx, path); err != nil || !r.OK() {
		t.Fatalf("Check: %v %+v", err, r.Problems)
	}
	s = openTest(t, path, Options{})
	defer s.Close()
	if ti := s.Tags(); ti[0].Compression.Kind != SwingingDoor || ti[0].Compression.Deviation != 0.5 {
		t.Fatalf("compression not kept: %+v", ti)
	}
}
