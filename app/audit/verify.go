package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Kind is what Verify found wrong with a row.
type Kind string

const (
	Altered  Kind = "altered"  // its contents no longer match its hash
	Inserted Kind = "inserted" // not part of the chain: the rows around it link past it
	Deleted  Kind = "deleted"  // missing: the row after it names a predecessor that is gone
	Moved    Kind = "moved"    // in the wrong place: it links to a later row
	Broken   Kind = "broken"   // the link is wrong but the cause cannot be told apart
)

// Problem is one defect, on the row numbered Seq.
type Problem struct {
	Seq    int64  `json:"seq"`
	Kind   Kind   `json:"kind"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return fmt.Sprintf("row %d %s: %s", p.Seq, p.Kind, p.Detail) }

// maxProblems bounds a report on a badly damaged log.
const maxProblems = 100

// Report is the outcome of Verify.
type Report struct {
	Entries   int64     `json:"entries"`   // rows read
	LastSeq   int64     `json:"last_seq"`  // the last row's seq and hash: note them down as an
	LastHash  string    `json:"last_hash"` // anchor, a later Verify must still list that row so
	HeadSeq   int64     `json:"head_seq"`  // the head recorded by Append
	HeadHash  string    `json:"head_hash"` //
	Problems  []Problem `json:"problems"`  // in seq order; the first one is the one to look at,
	Truncated bool      `json:"truncated"` // later ones may be its consequences
}

// OK reports whether the chain is intact.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(seq int64, k Kind, format string, args ...any) {
	if len(r.Problems) >= maxProblems {
		r.Truncated = true
		return
	}
	r.Problems = append(r.Problems, Problem{Seq: seq, Kind: k, Detail: fmt.Sprintf(format, args...)})
}

// Verify walks the chain in seq order and reports every row that is not where Append put it.
// It reads one snapshot of the file and does not stop Appends.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	var r Report
	tx, err := l.db.ReadDB().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return r, err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&r.HeadSeq, &r.HeadHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}

	// Pass 1: which row carries each hash, to tell a moved or inserted row from a deleted one.
	// 32 bytes and an int per row: a million entries take some 100 MB at most, briefly.
	seqOf := map[string]int64{}
	rows, err := tx.QueryContext(ctx, "SELECT seq, hash FROM audit")
	if err != nil {
		return r, err
	}
	for rows.Next() {
		var seq int64
		var h string
		if err := rows.Scan(&seq, &h); err != nil {
			rows.Close()
			return r, err
		}
		if _, dup := seqOf[h]; !dup {
			seqOf[h] = seq
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}

	// Pass 2: the walk, one row of lookahead.
	v := walker{r: &r, seqOf: seqOf, prev: genesis}
	rows, err = tx.QueryContext(ctx, "SELECT "+entryCols+" FROM audit ORDER BY seq")
	if err != nil {
		return r, err
	}
	defer rows.Close()
	var cur *Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return r, err
		}
		if cur != nil {
			v.check(cur, &e)
		}
		cur = &e
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	if cur != nil {
		v.check(cur, nil)
		r.LastSeq, r.LastHash = cur.Seq, cur.Hash
	}
	v.end()
	return r, nil
}

type walker struct {
	r     *Report
	seqOf map[string]int64
	prev  string // hash of the last row accepted into the chain
	last  int64  // its seq (0 before the first)
}

func (v *walker) accept(e *Entry) { v.prev, v.last = e.Hash, e.Seq }

// check judges cur, given the chain so far and the row after it (nil at the end).
func (v *walker) check(cur, next *Entry) {
	r := v.r
	r.Entries++
	self := cur.computeHash() == cur.Hash
	linked := cur.Prev == v.prev
	want := v.last + 1
	m, known := v.seqOf[cur.Prev] // the row cur names as its predecessor
	switch {
	case self && linked:
		if cur.Seq != want {
			r.add(cur.Seq, Broken, "the chain is unbroken but seq jumps from %d to %d: rows were renumbered", v.last, cur.Seq)
		}
		v.accept(cur)
	case !linked && known && m > cur.Seq:
		r.add(cur.Seq, Moved, "it follows row %d in the chain, so rows were reordered", m)
		v.accept(cur)
	case next != nil && next.Prev == v.prev:
		// The chain goes from the last good row straight to the next one.
		r.add(cur.Seq, Inserted, "row %d follows row %d directly in the chain", next.Seq, v.last)
		v.last = cur.Seq
	case !linked:
		also := ""
		if !self {
			also = "; its own contents do not match its hash either"
		}
		switch {
		case known && m < v.last:
			r.add(m+1, Inserted, "row %d follows row %d in the chain, so rows %d..%d do not belong there%s",
				cur.Seq, m, m+1, v.last, also)
		case cur.Seq > want:
			r.add(want, Deleted, "row %d follows a row that is missing: rows %d..%d were deleted%s",
				cur.Seq, want, cur.Seq-1, also)
		case v.last == 0:
			r.add(cur.Seq, Deleted, "the first row follows a row that is missing: the start of the log was deleted%s", also)
		default:
			r.add(cur.Seq, Broken, "it does not follow row %d: a row between them was deleted (and later rows renumbered), or row %d was rewritten with a new hash%s",
				v.last, v.last, also)
		}
		v.accept(cur)
	default: // linked, but its contents do not match its hash
		r.add(cur.Seq, Altered, "its contents no longer match its hash: a field was changed")
		v.accept(cur)
	}
}

// end compares the table's last row with the head Append recorded, which catches rows cut from
// (or added to) the end, where no later row's link would.
func (v *walker) end() {
	r := v.r
	switch {
	case r.Entries == 0 && r.HeadSeq == 0:
	case r.LastSeq < r.HeadSeq:
		r.add(r.LastSeq+1, Deleted, "the log recorded %d entries; rows %d..%d are gone from the end",
			r.HeadSeq, r.LastSeq+1, r.HeadSeq)
	case r.LastSeq > r.HeadSeq:
		r.add(r.HeadSeq+1, Inserted, "the log recorded %d entries; rows %d..%d were added outside Minebrain",
			r.HeadSeq, r.HeadSeq+1, r.LastSeq)
	case r.LastHash != r.HeadHash:
		for _, p := range r.Problems {
			if p.Seq == r.LastSeq {
				return // already named
			}
		}
		r.add(r.LastSeq, Altered, "its hash is not the one recorded when it was written: the row was rewritten")
	}
}
