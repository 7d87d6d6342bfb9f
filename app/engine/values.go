package engine

import (
	"math"
	"time"

	"minebrain/app/tags"
)

// TagValue is one tag's latest value as the UI receives it (Contract 2).
type TagValue struct {
	Tag string `json:"t"`
	// Value is a number, boolean, string or null (no value, or a NaN/Inf that JSON cannot
	// carry).
	Value any `json:"v"`
	// Quality is the OPC UA status code; 0 is Good.
	Quality uint32 `json:"q"`
	// SourceTime and ServerTime are milliseconds since the Unix epoch; 0 when unknown.
	SourceTime int64 `json:"ts"`
	ServerTime int64 `json:"st"`
}

func tagValueOf(v tags.Value) TagValue {
	return TagValue{
		Tag:        v.Name,
		Value:      jsonValue(v.Value),
		Quality:    v.Status,
		SourceTime: millis(v.SourceTime),
		ServerTime: millis(v.ServerTime),
	}
}

func tagValues(vs []tags.Value) []TagValue {
	out := make([]TagValue, len(vs))
	for i, v := range vs {
		out[i] = tagValueOf(v)
	}
	return out
}

// jsonValue makes a sample value safe for encoding/json, which refuses NaN and ±Inf.
func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
