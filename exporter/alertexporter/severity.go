// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Severity is a finding severity as written by the access_anomaly processor
// in anomaly.severity.
type Severity string

// The severities of the finding schema, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

var severityRanks = map[Severity]int{
	SeverityInfo:     0,
	SeverityLow:      1,
	SeverityMedium:   2,
	SeverityHigh:     3,
	SeverityCritical: 4,
}

// atLeast reports whether s is as severe as threshold.
func (s Severity) atLeast(threshold Severity) bool {
	return severityRanks[s] >= severityRanks[threshold]
}

// parseSeverity reads anomaly.severity; when it is missing or unknown the
// record's own severity number stands in, using the finding schema's
// mapping in reverse (FATAL critical, ERROR high, WARN medium, else info).
func parseSeverity(text string, number plog.SeverityNumber) Severity {
	s := Severity(strings.ToLower(strings.TrimSpace(text)))
	if _, ok := severityRanks[s]; ok {
		return s
	}
	switch {
	case number >= plog.SeverityNumberFatal:
		return SeverityCritical
	case number >= plog.SeverityNumberError:
		return SeverityHigh
	case number >= plog.SeverityNumberWarn:
		return SeverityMedium
	default:
		return SeverityInfo
	}
}

// pagerDutySeverity maps to the four levels PagerDuty Events v2 accepts.
func (s Severity) pagerDutySeverity() string {
	switch s {
	case SeverityCritical:
		return "critical"
	case SeverityHigh:
		return "error"
	case SeverityMedium:
		return "warning"
	default:
		return "info"
	}
}
