// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

// KV is one anomaly.baseline.* entry; Value is a string, int64, float64 or
// []string.
type KV struct {
	Key   string `json:"k"`
	Value any    `json:"v"`
}

// Finding is one detection, in the shape of the DESIGN §3.3 finding schema.
type Finding struct {
	RuleID    string   `json:"rule"`
	RuleName  string   `json:"name"`
	Category  string   `json:"category,omitempty"`
	Reference string   `json:"reference,omitempty"`
	Detector  string   `json:"detector"`
	Mode      string   `json:"mode"`
	Severity  string   `json:"severity"`
	Score     float64  `json:"score"`
	Reason    string   `json:"reason"`
	Body      string   `json:"body"`
	Baseline  []KV     `json:"baseline,omitempty"`
	Attack    []string `json:"attack,omitempty"`
	Tactics   []string `json:"tactics,omitempty"`

	Entity    string `json:"entity"`
	Identity  string `json:"identity,omitempty"`
	EventTime int64  `json:"event_time"`

	DedupKey       string   `json:"dedup_key"`
	Count          int      `json:"count"`
	FirstEventTime int64    `json:"first"`
	LastEventTime  int64    `json:"last"`
	EventIDs       []string `json:"event_ids,omitempty"`
	// Rollup marks the summary emitted when a suppression window closes with
	// repeats folded into it.
	Rollup bool `json:"rollup,omitempty"`

	// Context is the entity context copied from the triggering record
	// (user.email, source.address, user_agent.original, databricks.*, geo.*).
	Context map[string]any `json:"context,omitempty"`

	// Ref locates the triggering record in the batch; HasRef is false for
	// roll-ups, which are appended to the first resource of the batch.
	Ref    RecordRef `json:"-"`
	HasRef bool      `json:"-"`
}

// hit is what a detector reports; the engine turns it into a Finding.
type hit struct {
	reason   string
	value    float64 // observed magnitude (count, speed, ...)
	limit    float64 // what it was compared with; value/limit drives the score
	baseline []KV
	first    int64
	last     int64
	eventIDs []string
	// severity, when set, replaces the rule's base severity (severity_cases
	// still apply on top).
	severity string
}

var severityBase = map[string]float64{"info": 10, "low": 25, "medium": 50, "high": 75, "critical": 90}

// score maps severity to a base and adds up to 10 points for how far the
// observation exceeded its limit.
func score(severity string, h *hit) float64 {
	s := severityBase[severity]
	if h.limit > 0 && h.value > h.limit {
		over := (h.value/h.limit - 1) * 10
		if over > 10 {
			over = 10
		}
		s += over
	}
	if s > 100 {
		s = 100
	}
	return s
}

// SeverityNumberText maps a rule severity to the log severity of the finding:
// info, low -> INFO; medium -> WARN; high -> ERROR; critical -> FATAL.
func SeverityText(severity string) string {
	switch severity {
	case "medium":
		return "WARN"
	case "high":
		return "ERROR"
	case "critical":
		return "FATAL"
	default:
		return "INFO"
	}
}

// SeverityRank orders severities (info = 0 ... critical = 4).
func SeverityRank(severity string) int {
	switch severity {
	case "low":
		return 1
	case "medium":
		return 2
	case "high":
		return 3
	case "critical":
		return 4
	default:
		return 0
	}
}
