// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attribute keys of the finding record schema (DESIGN §3.3).
const (
	findingEventName = "databricks.access_anomaly"
	modeDryRun       = "dry_run"

	attrEventName      = "event.name"
	attrRuleID         = "security_rule.uuid"
	attrRuleName       = "security_rule.name"
	attrRuleCategory   = "security_rule.category"
	attrRuleReference  = "security_rule.reference"
	attrDetector       = "anomaly.detector"
	attrSeverity       = "anomaly.severity"
	attrScore          = "anomaly.score"
	attrReason         = "anomaly.reason"
	attrMode           = "anomaly.mode"
	attrBaselinePrefix = "anomaly.baseline."
	attrTechniques     = "threat.technique.id"
	attrUser           = "user.email"
	attrSourceAddress  = "source.address"
	attrUserAgent      = "user_agent.original"
	attrDedupKey       = "alert.dedup_key"
	attrCount          = "alert.count"
	attrFirstEventTime = "alert.first_event_time"
	attrLastEventTime  = "alert.last_event_time"
	attrEventIDs       = "databricks.event_ids"
	attrWorkspaceID    = "databricks.workspace.id"
	attrWorkspaceURL   = "databricks.workspace.url"
)

// isFinding reports whether a record is an access-anomaly finding. It runs
// for every record the pipeline sends, so it only compares strings already
// held by pdata and allocates nothing.
func isFinding(lr plog.LogRecord) bool {
	if lr.EventName() == findingEventName {
		return true
	}
	v, ok := lr.Attributes().Get(attrEventName)
	return ok && v.Type() == pcommon.ValueTypeStr && v.Str() == findingEventName
}

// baselineValue is one anomaly.baseline.* attribute, e.g. mean=3.2.
type baselineValue struct {
	Name  string
	Value string
}

// finding is the part of a finding record the targets render; the record
// itself stays referenced for the webhook's full-fidelity JSON.
type finding struct {
	record   plog.LogRecord
	resource pcommon.Resource
	scope    pcommon.InstrumentationScope

	RuleID       string
	RuleName     string
	RuleCategory string
	RuleRef      string
	Detector     string
	Mode         string
	Severity     Severity
	Summary      string
	Reason       string
	Score        float64
	HasScore     bool
	User         string
	SourceIP     string
	UserAgent    string
	Workspace    string
	WorkspaceURL string
	DedupKey     string
	Count        int64
	Techniques   []string
	EventIDs     []string
	Baseline     []baselineValue
	FirstEvent   time.Time
	LastEvent    time.Time
}

// parseFinding reads a finding record. It never fails: missing fields stay
// empty and times fall back to the record's own timestamps, so a partly
// filled finding still produces an alert. Whether a rule id is present is
// for the caller to judge.
func parseFinding(resource pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) *finding {
	attrs := lr.Attributes()
	res := resource.Attributes()
	f := &finding{
		record:       lr,
		resource:     resource,
		scope:        scope,
		RuleID:       stringAttr(attrs, attrRuleID),
		RuleName:     stringAttr(attrs, attrRuleName),
		RuleCategory: stringAttr(attrs, attrRuleCategory),
		RuleRef:      stringAttr(attrs, attrRuleReference),
		Detector:     stringAttr(attrs, attrDetector),
		Mode:         stringAttr(attrs, attrMode),
		Severity:     parseSeverity(stringAttr(attrs, attrSeverity), lr.SeverityNumber()),
		Summary:      lr.Body().AsString(),
		Reason:       stringAttr(attrs, attrReason),
		User:         stringAttr(attrs, attrUser),
		SourceIP:     stringAttr(attrs, attrSourceAddress),
		UserAgent:    stringAttr(attrs, attrUserAgent),
		Workspace:    firstNonEmpty(stringAttr(attrs, attrWorkspaceID), stringAttr(res, attrWorkspaceID)),
		WorkspaceURL: firstNonEmpty(stringAttr(attrs, attrWorkspaceURL), stringAttr(res, attrWorkspaceURL)),
		DedupKey:     stringAttr(attrs, attrDedupKey),
		Techniques:   stringsAttr(attrs, attrTechniques),
		EventIDs:     stringsAttr(attrs, attrEventIDs),
	}
	if v, ok := attrs.Get(attrScore); ok {
		f.Score, f.HasScore = numberValue(v)
	}
	if v, ok := attrs.Get(attrCount); ok {
		if n, isNum := numberValue(v); isNum && n >= 0 && n <= math.MaxInt64/2 {
			f.Count = int64(n)
		}
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		if name, ok := strings.CutPrefix(k, attrBaselinePrefix); ok && name != "" {
			f.Baseline = append(f.Baseline, baselineValue{Name: name, Value: v.AsString()})
		}
		return true
	})
	sort.Slice(f.Baseline, func(i, j int) bool { return f.Baseline[i].Name < f.Baseline[j].Name })

	// Zero means unknown; the targets then use the time the alert was sent.
	var recordTime time.Time
	switch {
	case lr.Timestamp() != 0:
		recordTime = lr.Timestamp().AsTime()
	case lr.ObservedTimestamp() != 0:
		recordTime = lr.ObservedTimestamp().AsTime()
	}
	f.FirstEvent = timeAttr(attrs, attrFirstEventTime, recordTime)
	f.LastEvent = timeAttr(attrs, attrLastEventTime, f.FirstEvent)
	return f
}

func stringAttr(m pcommon.Map, key string) string {
	v, ok := m.Get(key)
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// stringsAttr accepts the slice the schema prescribes and, leniently, a
// single string (comma separated) from hand-written rules.
func stringsAttr(m pcommon.Map, key string) []string {
	v, ok := m.Get(key)
	if !ok {
		return nil
	}
	var out []string
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out = make([]string, 0, s.Len())
		for i := 0; i < s.Len(); i++ {
			if str := s.At(i).AsString(); str != "" {
				out = append(out, str)
			}
		}
	case pcommon.ValueTypeEmpty:
	default:
		for _, part := range strings.Split(v.AsString(), ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func numberValue(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		return d, !math.IsNaN(d) && !math.IsInf(d, 0)
	case pcommon.ValueTypeStr:
		d, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
		return d, err == nil && !math.IsNaN(d) && !math.IsInf(d, 0)
	default:
		return 0, false
	}
}

// timeAttr reads an event time written as RFC 3339 text or as a Unix
// timestamp (the unit is inferred from the magnitude: s, ms, µs or ns).
func timeAttr(m pcommon.Map, key string, fallback time.Time) time.Time {
	v, ok := m.Get(key)
	if !ok {
		return fallback
	}
	var t time.Time
	switch v.Type() {
	case pcommon.ValueTypeStr:
		text := strings.TrimSpace(v.Str())
		if parsed, err := time.Parse(time.RFC3339Nano, text); err == nil {
			t = parsed.UTC()
		} else if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			t = unixTime(n)
		}
	case pcommon.ValueTypeInt:
		t = unixTime(v.Int())
	case pcommon.ValueTypeDouble:
		if d := v.Double(); !math.IsNaN(d) && math.Abs(d) < 1e18 {
			t = unixTime(int64(d))
		}
	}
	// Targets need RFC 3339 text, which only years 0000-9999 have; an event
	// before the Unix epoch is a unit mix-up rather than history.
	if t.IsZero() || t.Year() < 1970 || t.Year() > 9999 {
		return fallback
	}
	return t
}

func unixTime(n int64) time.Time {
	abs := n
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs >= 1e17:
		return time.Unix(0, n).UTC()
	case abs >= 1e14:
		return time.UnixMicro(n).UTC()
	case abs >= 1e11:
		return time.UnixMilli(n).UTC()
	default:
		return time.Unix(n, 0).UTC()
	}
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
