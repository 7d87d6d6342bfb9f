// Package historian stores plant history in one SQLite file (modernc.org/sqlite): per-tag
// Gorilla-style compressed blocks with precomputed summaries, one writer goroutine that
// batches, a read-only connection pool, and queries for raw ranges, bucketed aggregates
// (min, max, time-weighted average, first, last, count, percent good), latest values and
// interpolated values. See README.md for the schema and the guarantees.
package historian
