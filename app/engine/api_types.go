package engine

// The JSON shapes of the alarm, audit and user methods (Contract 2, docs/architecture.md).

import "time"

type AlarmCounts struct {
	Critical       int `json:"critical"`
	High           int `json:"high"`
	Medium         int `json:"medium"`
	Low            int `json:"low"`
	Unacknowledged int `json:"unacknowledged"`
	Total          int `json:"total"`
}

type AlarmView struct {
	ID           string   `json:"id"`
	Tag          string   `json:"tag"`
	Area         string   `json:"area"`
	Unit         string   `json:"unit"`
	Priority     string   `json:"priority"`
	Kind         string   `json:"kind"`
	Message      string   `json:"message"`
	State        string   `json:"state"`
	Active       bool     `json:"active"`
	Value        *float64 `json:"value"`
	Limit        *float64 `json:"limit"`
	Since        string   `json:"since"`
	Raised       *string  `json:"raised"`
	ShelvedUntil string   `json:"shelvedUntil,omitempty"`
	By           string   `json:"by,omitempty"`
	Reason       string   `json:"reason,omitempty"`
}

type Flood struct {
	Area  string `json:"area"`
	Count int    `json:"count"`
	Since string `json:"since"`
}

type AlarmSummary struct {
	Counts AlarmCounts `json:"counts"`
	Newest *AlarmView  `json:"newest"`
	Active []AlarmView `json:"active"`
	Hidden []AlarmView `json:"hidden"`
	Floods []Flood     `json:"floods"`
}

type AckResult struct {
	Acknowledged int      `json:"acknowledged"`
	Errors       []string `json:"errors"`
}

type AlarmHistoryQuery struct {
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Area     string `json:"area,omitempty"`
	Priority string `json:"priority,omitempty"`
	Text     string `json:"text,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

type JournalEntry struct {
	Time     time.Time `json:"time"`
	ID       string    `json:"id"`
	Area     string    `json:"area"`
	Unit     string    `json:"unit"`
	Priority string    `json:"priority"`
	Message  string    `json:"message"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Cause    string    `json:"cause"`
	Who      string    `json:"who"`
	Reason   string    `json:"reason"`
	Value    *float64  `json:"value"`
}

type AreaKPI struct {
	Area        string  `json:"area"`
	Last10Min   int     `json:"last10min"`
	Peak10Min   int     `json:"peak10min"`
	Total       int     `json:"total"`
	AvgPer10Min float64 `json:"avgPer10min"`
	AvgPerHour  float64 `json:"avgPerHour"`
	Floods      int     `json:"floods"`
	FloodShare  float64 `json:"floodShare"`
}

type AuditQuery struct {
	Since string `json:"since,omitempty"`
	Limit int    `json:"limit,omitempty"`
	Text  string `json:"text,omitempty"`
}

type AuditReport struct {
	OK       bool     `json:"ok"`
	Entries  int      `json:"entries"`
	Problems []string `json:"problems"`
}

type UserView struct {
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Disabled bool      `json:"disabled"`
	Changed  time.Time `json:"changed"`
}
