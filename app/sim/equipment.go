package sim

import "fmt"

// condSet selects the condition-monitoring signals a unit has. Rotating
// machines have all of them; a feeder breaker has no bearings.
type condSet uint8

const (
	condBearing condSet = 1 << iota
	condVibration
	condWinding
	condHours
	condStarts

	condAll = condBearing | condVibration | condWinding | condHours | condStarts
)

// energiser is an electrical supply: a feeder or the substation incomer.
type energiser interface{ energised() bool }

// equipment is the part every controllable unit shares: run state, mode,
// the RunCmd command and the condition signals with their thermal and
// vibration behaviour.
type equipment struct {
	m *Mine
	u *unit

	state  int32 // RunState
	mode   int32 // Mode
	runCmd bool  // latched run request; reads back through RunCmd
	starts uint32
	hours  float64

	bearingC, vibMmS, windingC float64

	// load is the motor load as a fraction of rating, set by the unit's
	// process physics each step; it drives heating and vibration.
	load float64
	// typicalLoad is the average load of this kind of machine; the settling
	// step uses it so that temperatures start where hours of running would
	// have put them, not where one instant of the duty cycle would.
	typicalLoad float64
	outdoor     bool    // exposed to outdoor air (mobile machines) rather than a building
	baseVib     float64 // vibration of a healthy machine at full load, mm/s RMS

	wear   *WearFault // scheduled bearing wear, nil when healthy
	supply energiser  // nil for diesel machines

	// permit, when set, can refuse a start (sequence interlocks).
	permit func() error
	// onRunCmd, when set, replaces the default RunCmd handling (pumps use
	// RunCmd as "in service" and start on demand).
	onRunCmd func(on bool) error
}

// newEquipment adds RunState, Mode and RunCmd to u. The unit starts running
// in remote mode; layout.go changes the few that start otherwise.
func (m *Mine) newEquipment(u *unit, outdoor bool, supply energiser) *equipment {
	e := &equipment{m: m, u: u, state: RunRunning, mode: ModeRemote, runCmd: true, outdoor: outdoor, supply: supply, typicalLoad: -1}
	u.eq = e
	n := m.noise
	e.hours = float64(int(n.between(streamID(u.id+".hours"), 0, 3000, 42000)))
	e.starts = uint32(n.between(streamID(u.id+".starts"), 0, 200, 3500))
	e.baseVib = n.between(streamID(u.id+".vib"), 0, 1.3, 2.8)

	u.int32("RunState", "Run state: 0 stopped, 1 running, 2 faulted", &e.state)
	u.int32("Mode", "Control mode: 0 local (commands refused), 1 remote", &e.mode)
	u.command("RunCmd", "Run request: write true to start, false to stop; obeyed only in remote mode",
		func() bool { return e.runCmd }, e.requestRun)
	return e
}

// addCondition registers the condition signals in Contract 1's order. Call it
// after the process signals so that they come last when browsing.
func (e *equipment) addCondition(set condSet) {
	u := e.u
	if set&condBearing != 0 {
		u.analog("BearingTempC", "Drive-end bearing temperature", "°C", -50, 150, &e.bearingC).noise(0.08)
	}
	if set&condVibration != 0 {
		u.analog("VibrationMmS", "Bearing housing vibration velocity, RMS (ISO 10816)", "mm/s", 0, 25, &e.vibMmS).noise(0.04)
	}
	if set&condWinding != 0 {
		u.analog("WindingTempC", "Motor (or transformer) winding temperature", "°C", -50, 200, &e.windingC).noise(0.1)
	}
	if set&condHours != 0 {
		u.analog("OperatingHours", "Running-hours counter", "h", 0, 200000, &e.hours).noise(0)
	}
	if set&condStarts != 0 {
		u.uint32("Starts", "Start counter", &e.starts)
	}
}

func (e *equipment) running() bool { return e.state == RunRunning }

func (e *equipment) powered() bool { return e.supply == nil || e.supply.energised() }

// requestRun handles a RunCmd write (the mode check is done by Mine.Write).
func (e *equipment) requestRun(on bool) error {
	if e.onRunCmd != nil {
		return e.onRunCmd(on)
	}
	if !on {
		e.runCmd = false
		if e.state == RunRunning {
			e.state = RunStopped
		}
		return nil
	}
	if err := e.canStart(); err != nil {
		return err
	}
	e.runCmd = true
	if e.state == RunStopped {
		e.start()
	}
	return nil
}

// canStart reports why a start would be refused, or nil.
func (e *equipment) canStart() error {
	if e.state == RunFaulted {
		return ErrFaulted
	}
	if !e.powered() {
		return fmt.Errorf("%w: supply feeder is open", ErrInterlocked)
	}
	if e.permit != nil {
		return e.permit()
	}
	return nil
}

func (e *equipment) start() {
	e.state = RunRunning
	e.starts++
}

// stop is a normal stop (an operator, an interlock or a lost supply).
func (e *equipment) stop() {
	e.runCmd = false
	if e.state == RunRunning {
		e.state = RunStopped
	}
}

// trip stops the unit on a fault; it stays faulted until repaired.
func (e *equipment) trip() {
	e.runCmd = false
	e.state = RunFaulted
}

// checkSupply stops the unit when its feeder is open, as an undervoltage
// relay would. Call it first in each step.
func (e *equipment) checkSupply() {
	if e.state == RunRunning && !e.powered() {
		e.stop()
	}
}

func (e *equipment) ambient() float64 {
	if e.outdoor {
		return e.m.env.outdoorC
	}
	// Unheated plant buildings and the pit floor sit well above the outdoor
	// temperature in winter.
	return 15 + 0.25*e.m.env.outdoorC
}

// stepCondition advances temperatures, vibration, hours and the bearing
// wear. Call it last in each step, after the process physics set e.load.
func (e *equipment) stepCondition(dt float64) {
	m := e.m
	amb := e.ambient()
	w := 0.0
	if e.wear != nil {
		w = e.wear.severity(m.seconds())
	}
	if e.state == RunRunning {
		e.hours += dt / 3600
		load := e.load
		if m.settling && e.typicalLoad >= 0 {
			load = e.typicalLoad
		}
		load = clamp(load, 0, 1.3)
		// Iron losses and cooling give a rise with load, copper losses one
		// with current squared; bearings heat with speed and load, and much
		// more once damaged.
		m.lag(&e.windingC, amb+12+60*load+40*load*load, 1200, dt)
		m.lag(&e.bearingC, amb+8+30*load+50*w, 900, dt)
		m.lag(&e.vibMmS, e.baseVib*(0.6+0.4*load)+11.5*w, 15, dt)
		if w >= 1 {
			e.trip()
		}
	} else {
		m.lag(&e.windingC, amb, 2400, dt)
		m.lag(&e.bearingC, amb, 3000, dt)
		m.lag(&e.vibMmS, 0, 3, dt)
	}
}
