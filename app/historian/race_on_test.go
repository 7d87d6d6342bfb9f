//go:build race

package historian

// raceEnabled: the race detector slows the writer about tenfold, so its commits (and what a
// crash loses) take longer.
const raceEnabled = true
