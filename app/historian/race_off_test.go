//go:build !race

package historian

const raceEnabled = false
