package sim

import "time"

// WearFault is a scheduled bearing failure: from Onset the bearing wears at an
// accelerating rate, raising vibration and bearing temperature, until at Trip
// the protection trips the unit (RunState 2). The schedule is drawn from the
// seed, so alarms and trips happen at the same simulated times on every run.
type WearFault struct {
	Unit  string        // unit id, "Crushing.CC2"
	Onset time.Duration // simulated time the wear starts to show
	Trip  time.Duration // simulated time the unit trips
}

// severity is the wear at simulated time t (seconds): 0 before onset,
// growing with the square of time (damage feeds on itself) to 1 at the trip.
func (f *WearFault) severity(t float64) float64 {
	on, trip := f.Onset.Seconds(), f.Trip.Seconds()
	if t <= on {
		return 0
	}
	x := (t - on) / (trip - on)
	if x >= 1 {
		return 1
	}
	return x * x
}

// wearCandidates are units whose bearings may fail: heavily loaded rotating
// machines that run from the start, so the fault shows up in the data.
var wearCandidates = []string{
	"Crushing.CR1", "Crushing.CC1", "Crushing.CC2", "Crushing.CC3",
	"Crushing.CV1", "Crushing.CV2", "Haulage.OC1",
	"Pit.SH01", "Pit.SH02", "Pit.SH04",
	"Water.P101", "Water.P201", "Heating.AH1",
}

// wearFaultCount is how many bearing failures each run schedules.
const wearFaultCount = 2

var streamWear = streamID("wear")

// planWear draws the seeded wear schedule: which units, and when. At the
// default time scale a fault shows within the first hour and trips within
// about two; at 60x both happen in the first couple of minutes of a demo.
func (m *Mine) planWear() {
	n := m.noise
	pool := append([]string(nil), wearCandidates...)
	for i := 0; i < wearFaultCount && len(pool) > 0; i++ {
		k := int(n.uniform(streamWear, uint64(3*i)) * float64(len(pool)))
		id := pool[k]
		pool = append(pool[:k], pool[k+1:]...)
		onset := time.Duration(n.between(streamWear, uint64(3*i+1), 15, 45) * float64(time.Minute)).Round(time.Second)
		span := time.Duration(n.between(streamWear, uint64(3*i+2), 40, 80) * float64(time.Minute)).Round(time.Second)
		f := &WearFault{Unit: id, Onset: onset, Trip: onset + span}
		m.wear = append(m.wear, *f)
		if u := m.unitByID[id]; u != nil && u.eq != nil {
			u.eq.wear = f
		}
	}
}

// WearFaults returns the bearing-wear schedule drawn from the seed.
func (m *Mine) WearFaults() []WearFault { return append([]WearFault(nil), m.wear...) }
