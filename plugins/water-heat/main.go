// Command water-heat is a Minebrain plugin for the mine's water and heat:
//
//   - Dewatering: it schedules the duty of the dewatering pumps of sumps SU1 (P101–P103)
//     and SU2 (P201–P202) against the electricity tariff (Power.SS1.TariffPeriod), keeping
//     every sump between a floor above its pumps' low cut-out and a ceiling below its
//     flood level. Minebrain plugins write only setpoints (tags ending in SP), so it writes
//     the duty to the 0/1 setpoint of each pump named by config dutySignal (the simulated
//     mine's DutySP, the same flag as PumpOnCmd), granted in writes:. The schedule is also
//     logged when it changes and kept in the key-value store under "advice"; with
//     dutySignal empty it is only that (advice).
//   - Heating: the shaft air heaters' OutletTempSP follow a heating curve against the
//     outdoor temperature of weather station WS1, rate-limited, and the alarm co-high is
//     raised while any heater's CO is above a limit.
//
// The decisions are pure functions (heating.go, dewater.go, tariff.go) tested by `go test`;
// this file only carries values between them and the host.
package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"minebrain.dev/sdk/minebrain"
)

const (
	alarmCO   = "co-high"
	adviceKey = "advice"
)

type heaterRefs struct {
	name         string
	sp, co, mode minebrain.TagRef
	w            minebrain.SetpointRef
	last         float64
	lastAt       time.Time
	ramping      bool
	refused      bool
}

type pumpRefs struct {
	name                        string
	runCmd, mode, state, pumpOn minebrain.TagRef
	duty                        minebrain.SetpointRef
	hasDuty                     bool
}

type sumpRefs struct {
	cfg                sumpConfig
	level, inflow, vol minebrain.TagRef
	pumps              []pumpRefs
	pumping            bool
	advice             []bool
}

type plugin struct {
	heat     heatConfig
	outdoor  minebrain.TagRef
	heaters  []heaterRefs
	coActive bool
	started  time.Time

	water    bool
	tariff   minebrain.TagRef
	plan     tariffPlan
	utcOff   float64
	su1, su2 *sumpRefs
	su1Out   minebrain.TagRef
	advice   string
	la       lookAhead
	laMinute int
	laOK     bool
}

func (p *plugin) Init(h *minebrain.Host) error {
	var errs []error
	tag := func(name string) minebrain.TagRef {
		r, err := h.Tag(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("tag %s: %w (grant it in reads:)", name, err))
		}
		return r
	}

	// Heating.
	cs, _ := h.Config("curve")
	c, err := parseCurve(cs)
	if err != nil {
		return fmt.Errorf("config curve: %w", err)
	}
	p.heat = heatConfig{Curve: c, RateKMin: h.ConfigFloat("rateKPerMin", 0.5), Deadband: h.ConfigFloat("deadbandK", 0.1),
		MinSP: h.ConfigFloat("minSP", 0), MaxSP: h.ConfigFloat("maxSP", 15),
		COLimit: h.ConfigFloat("coLimitPpm", 30), COHyst: h.ConfigFloat("coHysteresisPpm", 3)}
	if !(p.heat.RateKMin > 0) || !(p.heat.MaxSP > p.heat.MinSP) {
		return errors.New("config: rateKPerMin must be > 0 and maxSP > minSP")
	}
	p.outdoor = tag(cfgText(h, "outdoorTag", "Heating.WS1.OutdoorTempC"))
	for _, n := range strings.Split(cfgText(h, "heaters", "AH1,AH2,AH3"), ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		hr := heaterRefs{name: n, last: math.NaN(),
			sp: tag("Heating." + n + ".OutletTempSP"), co: tag("Heating." + n + ".CoPpm"), mode: tag("Heating." + n + ".Mode")}
		if hr.w, err = h.Setpoint("Heating." + n + ".OutletTempSP"); err != nil {
			errs = append(errs, fmt.Errorf("setpoint Heating.%s.OutletTempSP: %w (grant it in writes:)", n, err))
		}
		p.heaters = append(p.heaters, hr)
	}

	// Dewatering.
	p.water = h.ConfigBool("dewatering", true)
	if p.water {
		peak, err1 := parseWindows(cfgText(h, "peakHours", "7-10,17-21"))
		night, err2 := parseWindows(cfgText(h, "nightHours", "23-7"))
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("config peakHours/nightHours: %w", err)
		}
		p.plan = tariffPlan{Peak: peak, Night: night}
		p.utcOff = h.ConfigFloat("utcOffsetHours", 0)
		p.tariff = tag("Power.SS1.TariffPeriod")
		dutySig := cfgText(h, "dutySignal", "")
		sump := func(name string, pumps string, low, high, area float64) *sumpRefs {
			s := &sumpRefs{cfg: sumpConfig{Name: name,
				LowM: h.ConfigFloat(name+"LowM", low), HighM: h.ConfigFloat(name+"HighM", high),
				MarginLow: h.ConfigFloat("marginLowM", 0.4), MarginHi: h.ConfigFloat("marginHighM", 0.6),
				Band: h.ConfigFloat("bandM", 0.3), AreaM2: area},
				level: tag("Water." + name + ".LevelM"), inflow: tag("Water." + name + ".InflowM3H"), vol: tag("Water." + name + ".VolumeM3")}
			for _, pn := range strings.Split(pumps, ",") {
				pn = strings.TrimSpace(pn)
				pr := pumpRefs{name: pn, runCmd: tag("Water." + pn + ".RunCmd"), mode: tag("Water." + pn + ".Mode"),
					state: tag("Water." + pn + ".RunState"), pumpOn: tag("Water." + pn + ".PumpOnCmd")}
				if dutySig != "" {
					if pr.duty, err = h.Setpoint("Water." + pn + "." + dutySig); err != nil {
						errs = append(errs, fmt.Errorf("setpoint Water.%s.%s: %w (grant it in writes:, min 0, max 1)", pn, dutySig, err))
					}
					pr.hasDuty = true
				}
				s.pumps = append(s.pumps, pr)
			}
			s.advice = make([]bool, len(s.pumps))
			return s
		}
		p.su1 = sump("SU1", cfgText(h, "su1Pumps", "P101,P102,P103"), 0.8, 5.0, 450)
		p.su2 = sump("SU2", cfgText(h, "su2Pumps", "P201,P202"), 0.8, 4.2, 300)
		p.su1Out = tag("Water.SU1.OutflowM3H")
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if b, ok, _ := h.KV().Get(adviceKey); ok {
		p.advice = string(b)
	}
	h.Logf(minebrain.LevelInfo, "water-heat: %d heaters on curve %s; dewatering %v", len(p.heaters), cs, p.water)
	return nil
}

func (p *plugin) Tick(h *minebrain.Host, now time.Time) error {
	if p.started.IsZero() {
		p.started = now
	}
	p.tickHeat(h, now)
	if p.water {
		return p.tickWater(h, now)
	}
	return nil
}

func (p *plugin) tickHeat(h *minebrain.Host, now time.Time) {
	out := h.Value(p.outdoor)
	ins := make([]heaterInput, len(p.heaters))
	for i := range p.heaters {
		hr := &p.heaters[i]
		sp, co, mode := h.Value(hr.sp), h.Value(hr.co), h.Value(hr.mode)
		since := now.Sub(hr.lastAt)
		if hr.lastAt.IsZero() {
			since = now.Sub(p.started)
		}
		ins[i] = heaterInput{Name: hr.name, SP: sp.V, SPGood: sp.Good(), Remote: mode.Good() && mode.V == 1,
			CO: co.V, COGood: co.Good(), LastWrite: hr.last, SinceS: since.Seconds(), Ramping: hr.ramping}
	}
	d := decideHeat(p.heat, out.V, out.Good(), ins, p.coActive)
	for i, v := range d.Writes {
		hr := &p.heaters[i]
		if res := h.WriteResult(hr.w); res == minebrain.WriteRefused || res == minebrain.WriteRejected {
			if !hr.refused {
				h.Logf(minebrain.LevelWarning, "%s OutletTempSP: last write %v", hr.name, res)
			}
			hr.refused = true
		} else if res == minebrain.WriteDone {
			hr.refused = false
		}
		if math.IsNaN(v) {
			continue
		}
		if err := h.Write(hr.w, v); err != nil {
			h.Logf(minebrain.LevelWarning, "%s OutletTempSP %.2f: %v", hr.name, v, err)
			continue
		}
		hr.last, hr.lastAt, hr.ramping = v, now, v != d.Target
	}
	switch {
	case d.COHigh && !p.coActive:
		// Raised once per episode with the reading that raised it, not every tick with a
		// new one.
		_ = h.RaiseAlarm(alarmCO, minebrain.PriorityHigh, d.COMsg)
		p.coActive = true
	case d.COHigh:
	case p.coActive:
		_ = h.ClearAlarm(alarmCO)
		p.coActive = false
	}
}

func (p *plugin) tickWater(h *minebrain.Host, now time.Time) error {
	tv := h.Value(p.tariff)
	hour := math.Mod(float64(now.Unix()%86400)/3600+p.utcOff+48, 24)
	period := p.plan.at(hour)
	if tv.Good() && tv.V >= 0 && tv.V <= 2 {
		period = int(tv.V) // the substation's word beats the plan
	}
	if minute := int(hour * 60); minute != p.laMinute || !p.laOK {
		p.la, p.laMinute, p.laOK = p.plan.ahead(hour), minute, true // a scan of the next two days: once a minute
	}
	la := p.la

	in2, pumps2 := p.sumpInput(h, p.su2)
	// SU2 takes SU1's pumping: its own inflow is what is left after that.
	in2.InflowM3H = math.Max(0, in2.InflowM3H-h.Value(p.su1Out).V)
	d2 := decideSump(p.su2.cfg, in2, period, la)
	in1, pumps1 := p.sumpInput(h, p.su1)
	in1.DownstreamFull = in2.Good && in2.LevelM >= p.su2.cfg.ceiling()-p.su2.cfg.Band
	d1 := decideSump(p.su1.cfg, in1, period, la)
	p.su1.pumping, p.su2.pumping = d1.Pumping, d2.Pumping

	type sumpTick struct {
		s    *sumpRefs
		ps   []pumpInput
		d    sumpDecision
		in   sumpInput
		duty []bool
	}
	ticks := [2]sumpTick{{s: p.su1, ps: pumps1, d: d1, in: in1}, {s: p.su2, ps: pumps2, d: d2, in: in2}}
	changed := p.advice == ""
	for k := range ticks {
		x := &ticks[k]
		x.duty = assignDuty(x.ps, x.d.Pumps)
		for i, on := range x.duty {
			pr := &x.s.pumps[i]
			if on != x.s.advice[i] {
				changed = true
			}
			x.s.advice[i] = on
			if pr.hasDuty && on != x.ps[i].Duty {
				v := 0.0
				if on {
					v = 1
				}
				if err := h.Write(pr.duty, v); err != nil {
					h.Logf(minebrain.LevelWarning, "%s duty %v: %v", pr.name, on, err)
				}
			}
		}
	}
	if !changed {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", periodNames[period])
	for _, x := range ticks {
		fmt.Fprintf(&b, " %s %.2f m → %.2f m (%s):", x.s.cfg.Name, x.in.LevelM, x.d.Target, x.d.Reason)
		for i, on := range x.duty {
			fmt.Fprintf(&b, " %s=%s", x.s.pumps[i].name, onOff(on))
		}
	}
	p.advice = b.String()
	h.Log(minebrain.LevelInfo, "dewatering advice "+p.advice)
	return h.KV().Set(adviceKey, []byte(p.advice))
}

func (p *plugin) sumpInput(h *minebrain.Host, s *sumpRefs) (sumpInput, []pumpInput) {
	lv, in, vol := h.Value(s.level), h.Value(s.inflow), h.Value(s.vol)
	si := sumpInput{LevelM: lv.V, Good: lv.Good(), InflowM3H: in.V, Pumping: s.pumping}
	if !in.Good() {
		si.InflowM3H = 0
	}
	if vol.Good() && lv.Good() && lv.V > 0.2 {
		si.AreaM2 = vol.V / lv.V
	}
	ps := make([]pumpInput, len(s.pumps))
	for i, pr := range s.pumps {
		rc, md, st, on := h.Value(pr.runCmd), h.Value(pr.mode), h.Value(pr.state), h.Value(pr.pumpOn)
		ps[i] = pumpInput{Name: pr.name, InService: rc.Good() && rc.V == 1, Remote: md.Good() && md.V == 1,
			Faulted: !st.Good() || st.V == 2, Duty: on.Good() && on.V == 1}
	}
	si.Available = available(ps)
	return si, ps
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func cfgText(h *minebrain.Host, key, def string) string {
	if v, ok := h.Config(key); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func init() { minebrain.Register(&plugin{}) }

// main is required by the go command; Minebrain never calls it (a plugin is a reactor).
func main() {}
