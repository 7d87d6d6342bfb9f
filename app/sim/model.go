package sim

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// StepInterval is the model's fixed integration step. Step advances in whole
// steps of this size and carries the remainder, so the state at a simulated
// time never depends on how that time was chunked into Step calls.
const StepInterval = 250 * time.Millisecond

// Unit run states and modes (Contract 1).
const (
	RunStopped int32 = 0 // RunState: stopped (or, for a pump, in service but not pumping)
	RunRunning int32 = 1 // RunState: running
	RunFaulted int32 = 2 // RunState: tripped by a fault; a start request is refused until repaired

	ModeLocal  int32 = 0 // Mode: controlled at the machine; remote commands are refused
	ModeRemote int32 = 1 // Mode: controlled from the control room
)

// Errors returned by Mine.Write (wrapped with the tag). The OPC UA server maps
// them to status codes.
var (
	ErrUnknownTag   = errors.New("unknown tag")
	ErrNotWritable  = errors.New("signal is read-only")
	ErrTypeMismatch = errors.New("value has the wrong data type")
	ErrOutOfRange   = errors.New("value out of range")
	ErrLocalMode    = errors.New("unit is in local mode")
	ErrFaulted      = errors.New("unit is faulted")
	ErrInterlocked  = errors.New("start prevented by an interlock")
	ErrUnknownUnit  = errors.New("unknown unit")
)

// Config configures a Mine.
type Config struct {
	// Seed selects the random but reproducible parts: measurement noise,
	// weather, ore hardness, payloads and the bearing-wear schedule.
	Seed int64
	// Start is the simulated clock at simulated time zero. It sets the time
	// of day, which drives the electricity tariff and the daily temperature
	// cycle. Zero means 2025-01-15 06:00 UTC (a winter morning shift).
	Start time.Time
}

// UnitInfo describes one unit (an OPC UA object under an area).
type UnitInfo struct {
	ID          string // "Pit.SH01"
	Area        string // "Pit"
	Name        string // "SH01"
	Kind        string // "ElectricShovel": the OPC UA Description of the unit object
	DisplayName string // "Electric shovel SH01"
	Signals     []SignalInfo
}

// Mine is the simulated plant. It is a pure, deterministic model: no I/O, no
// goroutines, no wall clock. It is not safe for concurrent use; the server
// serialises access with a mutex.
type Mine struct {
	cfg      Config
	noise    noiseSource
	steps    int64         // whole steps simulated
	pending  time.Duration // simulated time not yet stepped (< StepInterval)
	settling bool          // first step: lags jump to their targets so the plant starts in steady state

	env      environment
	areas    []string
	units    []*unit
	unitByID map[string]*unit
	signals  []*signal
	byTag    map[string]*signal
	steppers []stepper
	wear     []WearFault

	p plant // typed references used to wire material, water and power flows
}

// stepper is anything that advances with the plant, in a fixed order that
// follows the material flow so that downstream sees upstream's fresh output.
type stepper interface{ step(dt float64) }

// unit is one object in the address space: a machine or a utility object.
type unit struct {
	mine                          *Mine
	id, area, name, kind, display string
	signals                       []*signal
	eq                            *equipment // nil for objects without a drive (sump, bin, weather station)
}

// NewMine builds the simulated mine in its initial, steady operating state.
func NewMine(cfg Config) *Mine {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2025, 1, 15, 6, 0, 0, 0, time.UTC)
	}
	m := &Mine{
		cfg:      cfg,
		noise:    noiseSource{seed: mix64(uint64(cfg.Seed))},
		unitByID: map[string]*unit{},
		byTag:    map[string]*signal{},
		settling: true,
	}
	m.env.update(m, 0)
	m.build()
	m.planWear()
	// One settling step puts temperatures, currents and belt loads at the
	// values that match the initial operating point; it is not counted as
	// simulated time so that time zero is the first published state.
	m.advanceOnce()
	m.steps = 0
	m.settling = false
	return m
}

// newUnit creates a unit and adds it to its area.
func (m *Mine) newUnit(area, name, kind, display string) *unit {
	u := &unit{mine: m, id: area + "." + name, area: area, name: name, kind: kind, display: display}
	if len(m.areas) == 0 || m.areas[len(m.areas)-1] != area {
		m.areas = append(m.areas, area)
	}
	m.units = append(m.units, u)
	m.unitByID[u.id] = u
	return u
}

func (m *Mine) register(s *signal) {
	if _, dup := m.byTag[s.Tag]; dup {
		panic("sim: duplicate tag " + s.Tag) // a programming error in layout.go
	}
	m.signals = append(m.signals, s)
	m.byTag[s.Tag] = s
}

// Step advances the simulated time by dt, in whole StepIntervals; the
// remainder is carried over to the next call.
func (m *Mine) Step(dt time.Duration) {
	if dt <= 0 {
		return
	}
	m.pending += dt
	for m.pending >= StepInterval {
		m.pending -= StepInterval
		m.steps++
		m.advanceOnce()
	}
}

func (m *Mine) advanceOnce() {
	m.env.update(m, m.seconds())
	dt := StepInterval.Seconds()
	for _, s := range m.steppers {
		s.step(dt)
	}
}

// seconds is the simulated time of the current state, in seconds.
func (m *Mine) seconds() float64 { return float64(m.steps) * StepInterval.Seconds() }

// Elapsed returns the simulated time of the current state.
func (m *Mine) Elapsed() time.Duration { return time.Duration(m.steps) * StepInterval }

// Clock returns the simulated wall-clock time (Config.Start + Elapsed).
func (m *Mine) Clock() time.Time { return m.cfg.Start.Add(m.Elapsed()) }

// Areas returns the area names in address-space order.
func (m *Mine) Areas() []string { return append([]string(nil), m.areas...) }

// Units returns every unit with its signals, in address-space order.
func (m *Mine) Units() []UnitInfo {
	out := make([]UnitInfo, 0, len(m.units))
	for _, u := range m.units {
		ui := UnitInfo{ID: u.id, Area: u.area, Name: u.name, Kind: u.kind, DisplayName: u.display}
		for _, s := range u.signals {
			ui.Signals = append(ui.Signals, s.SignalInfo)
		}
		out = append(out, ui)
	}
	return out
}

// Signals returns every signal, in address-space order.
func (m *Mine) Signals() []SignalInfo {
	out := make([]SignalInfo, len(m.signals))
	for i, s := range m.signals {
		out[i] = s.SignalInfo
	}
	return out
}

// Value returns the measured value of a tag, as an OPC UA client would read
// it: float64, int32, uint32, bool or string.
func (m *Mine) Value(tag string) (any, bool) {
	s, ok := m.byTag[tag]
	if !ok {
		return nil, false
	}
	return s.measure(m.noise, m.steps), true
}

// Write applies a command or setpoint as a client write would. Commands and
// setpoints are obeyed only while their unit is in remote mode.
func (m *Mine) Write(tag string, v any) error {
	s, ok := m.byTag[tag]
	if !ok {
		return fmt.Errorf("sim: write %s: %w", tag, ErrUnknownTag)
	}
	if s.write == nil {
		return fmt.Errorf("sim: write %s: %w", tag, ErrNotWritable)
	}
	if !checkType(s.DataType, v) {
		return fmt.Errorf("sim: write %s: %w: want %s, got %T", tag, ErrTypeMismatch, s.DataType, v)
	}
	if eq := s.unit.eq; eq != nil && eq.mode != ModeRemote {
		return fmt.Errorf("sim: write %s: %w", tag, ErrLocalMode)
	}
	if err := s.write(v); err != nil {
		return fmt.Errorf("sim: write %s: %w", tag, err)
	}
	return nil
}

// SetMode switches a unit between local (ModeLocal) and remote (ModeRemote)
// control, as the key switch at the machine would. It is not reachable over
// OPC UA on purpose: the control room cannot take control it was not given.
func (m *Mine) SetMode(unitID string, mode int32) error {
	u, ok := m.unitByID[unitID]
	if !ok || u.eq == nil {
		return fmt.Errorf("sim: set mode of %s: %w", unitID, ErrUnknownUnit)
	}
	if mode != ModeLocal && mode != ModeRemote {
		return fmt.Errorf("sim: set mode of %s: %w: %d", unitID, ErrOutOfRange, mode)
	}
	u.eq.mode = mode
	return nil
}

// Repair models the maintenance crew replacing a worn bearing: the wear is
// gone and a faulted unit returns to stopped, ready to be started.
func (m *Mine) Repair(unitID string) error {
	u, ok := m.unitByID[unitID]
	if !ok || u.eq == nil {
		return fmt.Errorf("sim: repair %s: %w", unitID, ErrUnknownUnit)
	}
	u.eq.wear = nil
	if u.eq.state == RunFaulted {
		u.eq.state = RunStopped
	}
	return nil
}

// lag moves *x towards target as a first-order lag with time constant tau
// seconds. The exact exponential keeps it stable for any step size.
func (m *Mine) lag(x *float64, target, tau, dt float64) {
	if m.settling || tau <= 0 {
		*x = target
		return
	}
	*x += (target - *x) * (1 - math.Exp(-dt/tau))
	// Snap the last invisible fraction so that a stopped machine settles at
	// exactly its resting value (and exactly zero reads as a clean zero).
	if math.Abs(*x-target) < 1e-4 {
		*x = target
	}
}

// ramp moves *x towards target by at most rate per second.
func (m *Mine) ramp(x *float64, target, rate, dt float64) {
	if m.settling {
		*x = target
		return
	}
	d := target - *x
	lim := rate * dt
	*x += math.Max(-lim, math.Min(lim, d))
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }
