package engine

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/site"
	"minebrain/app/users"
)

// alarmSite is the embedded simulator with two alarms: DR05 starts in local mode (a standing
// alarm), and AF1's feed setpoint above 90 % (not standing: the design setpoint is 75 %).
const alarmSite = `site: Alarm test
connections:
  - name: sim
    endpoint: embedded
    security: {policy: None, mode: None}
    equipment: {namespace: urn:minebrain:sim, root: Mine}
alarms:
  - id: DR05.Local
    tag: Pit.DR05.Mode
    kind: discrete
    op: "=="
    limit: 0
    priority: low
    message: DR05 in local control
  - id: AF1.FeedSPHigh
    tag: Crushing.AF1.FeederSpeedSP
    kind: HI
    limit: 90
    deadband: 1
    priority: medium
    message: AF1 feed setpoint above design range
`

var (
	operator = Actor{Name: "olga", Role: users.Operator, Face: "web"}
	viewer   = Actor{Name: "wall", Role: users.Viewer, Face: "desktop"}
	engineer = Actor{Name: "emil", Role: users.Engineer, Face: "desktop"}
)

func startAlarmEngine(t *testing.T, yaml string, configure ...func(*Config)) *Engine {
	t.Helper()
	s, err := site.Parse("alarms.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Site: s, HistoryPath: filepath.Join(t.TempDir(), "history.db"), NoRecording: true}
	for _, f := range configure {
		f(&cfg)
	}
	return startEngine(t, cfg)
}

func activeAlarm(t *testing.T, e *Engine, id string) *AlarmView {
	t.Helper()
	sum, err := e.Alarms(viewer)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sum.Active {
		if sum.Active[i].ID == id {
			return &sum.Active[i]
		}
	}
	return nil
}

// TestAlarmsRaiseAcknowledgeAndJournal runs site-file alarms on the simulator: the standing
// alarm raises from live samples, reaches subscribers as an alarms event, is acknowledged by
// an operator (not by a viewer), and both transitions are in the journal with who and when.
func TestAlarmsRaiseAcknowledgeAndJournal(t *testing.T) {
	e := startAlarmEngine(t, alarmSite)
	events, cancel := e.Subscribe()
	defer cancel()

	waitFor(t, 10*time.Second, "the DR05 alarm", func() bool { return activeAlarm(t, e, "DR05.Local") != nil })
	a := activeAlarm(t, e, "DR05.Local")
	if a.State != "unacknowledged" || a.Priority != "low" || a.Area != "Pit" || a.Unit != "DR05" || a.Message != "DR05 in local control" {
		t.Fatalf("alarm view %+v", *a)
	}
	if activeAlarm(t, e, "AF1.FeedSPHigh") != nil {
		t.Fatal("AF1 setpoint alarm active at the design setpoint")
	}
	sum, _ := e.Alarms(viewer)
	if sum.Counts.Low < 1 || sum.Counts.Unacknowledged < 1 || sum.Newest == nil {
		t.Fatalf("counts %+v newest %v", sum.Counts, sum.Newest)
	}

	if _, err := e.AcknowledgeAlarms(viewer, []string{"DR05.Local"}); err == nil || !strings.Contains(err.Error(), "operator role") {
		t.Fatalf("viewer acknowledged: %v", err)
	}
	res, err := e.AcknowledgeAlarms(operator, []string{"DR05.Local", "NoSuch"})
	if err != nil || res.Acknowledged != 1 || len(res.Errors) != 1 {
		t.Fatalf("acknowledge: %+v %v", res, err)
	}
	if a := activeAlarm(t, e, "DR05.Local"); a == nil || a.State != "acknowledged" {
		t.Fatalf("after acknowledge: %+v", a)
	}
	// The acknowledgement reaches subscribers as an alarms event.
	deadline := time.After(5 * time.Second)
	for acked := false; !acked; {
		select {
		case ev := <-events:
			if s, ok := ev.Data.(AlarmSummary); ok && ev.Name == EventAlarms {
				for _, v := range s.Active {
					acked = acked || (v.ID == "DR05.Local" && v.State == "acknowledged")
				}
			}
		case <-deadline:
			t.Fatal("no alarms event with the acknowledged alarm")
		}
	}

	var hist []JournalEntry
	waitFor(t, 5*time.Second, "both transitions in the journal", func() bool {
		hist, err = e.AlarmHistory(viewer, AlarmHistoryQuery{Text: "DR05"})
		return err == nil && len(hist) >= 2
	})
	ack, raise := hist[0], hist[1]
	if ack.To != "acknowledged" || ack.Who != "olga" || ack.Cause != "acknowledge" ||
		raise.To != "unacknowledged" || raise.From != "normal" || raise.Cause != "value" || raise.Priority != "low" {
		t.Fatalf("journal %+v", hist[:2])
	}
	if h, err := e.AlarmHistory(viewer, AlarmHistoryQuery{Priority: "critical"}); err != nil || len(h) != 0 {
		t.Fatalf("priority filter: %d rows, %v", len(h), err)
	}
	if _, err := e.AlarmHistory(viewer, AlarmHistoryQuery{Priority: "urgent"}); err == nil {
		t.Fatal("unknown priority accepted")
	}
}

// TestShelveNeedsReasonAndRole: shelving is an operator action with a reason and a bounded
// duration; out of service is for engineers.
func TestShelveNeedsReasonAndRole(t *testing.T) {
	e := startAlarmEngine(t, alarmSite)
	waitFor(t, 10*time.Second, "the DR05 alarm", func() bool { return activeAlarm(t, e, "DR05.Local") != nil })
	if err := e.ShelveAlarm(operator, "DR05.Local", "", 15); err == nil {
		t.Fatal("shelved without a reason")
	}
	if err := e.ShelveAlarm(operator, "DR05.Local", "crew moving it", 24*60); err == nil {
		t.Fatal("shelved for a day")
	}
	if err := e.RemoveAlarmFromService(operator, "DR05.Local", "maintenance"); err == nil {
		t.Fatal("an operator removed an alarm from service")
	}
	if err := e.ShelveAlarm(operator, "DR05.Local", "crew moving it", 60); err != nil {
		t.Fatal(err)
	}
	sum, _ := e.Alarms(viewer)
	if len(sum.Hidden) != 1 || sum.Hidden[0].State != "shelved" || sum.Hidden[0].By != "olga" ||
		sum.Hidden[0].Reason != "crew moving it" || sum.Hidden[0].ShelvedUntil == "" {
		t.Fatalf("hidden %+v", sum.Hidden)
	}
	if err := e.UnshelveAlarm(operator, "DR05.Local"); err != nil {
		t.Fatal(err)
	}
	if a := activeAlarm(t, e, "DR05.Local"); a == nil || a.State != "unacknowledged" {
		t.Fatalf("unshelved alarm still active must be annunciated again: %+v", a)
	}
}

// TestConnectionLostRaisesSystemAlarm: a connection that stays down raises conn.<name>.
func TestConnectionLostRaisesSystemAlarm(t *testing.T) {
	port := freePortForTest(t)
	e := startAlarmEngine(t, fmt.Sprintf(`site: Down
connections:
  - name: plc
    endpoint: opc.tcp://127.0.0.1:%d
    security: {policy: None, mode: None}
    equipment: {namespace: urn:minebrain:sim, root: Mine}
`, port))
	waitFor(t, 15*time.Second, "the connection-lost system alarm", func() bool { return activeAlarm(t, e, "conn.plc") != nil })
	a := activeAlarm(t, e, "conn.plc")
	if a.Area != "system" || a.Priority != "high" || !strings.Contains(a.Message, "Connection plc") || a.Value != nil {
		t.Fatalf("system alarm %+v", *a)
	}
}

// freePortForTest returns a loopback port nothing listens on (it was free a moment ago).
func freePortForTest(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
