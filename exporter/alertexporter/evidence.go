// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"strconv"
	"strings"
	"time"
)

// evidenceLines explains why the finding fired, one fact per line, in the
// same order for every target so alerts read alike everywhere.
func evidenceLines(a *alert) []string {
	var lines []string
	if a.Reason != "" {
		lines = append(lines, "reason: "+a.Reason)
	}
	if len(a.Baseline) > 0 {
		parts := make([]string, len(a.Baseline))
		for i, b := range a.Baseline {
			parts[i] = b.Name + "=" + b.Value
		}
		lines = append(lines, "baseline: "+strings.Join(parts, ", "))
	}
	if a.Count > 0 {
		line := "events: " + strconv.FormatInt(a.Count, 10)
		if !a.FirstEvent.IsZero() {
			line += " from " + formatTime(a.FirstEvent) + " to " + formatTime(a.LastEvent)
		}
		lines = append(lines, line)
	}
	if len(a.EventIDs) > 0 {
		lines = append(lines, "event ids: "+strings.Join(a.EventIDs, ", "))
	}
	if a.HasScore {
		lines = append(lines, "score: "+strconv.FormatFloat(a.Score, 'f', -1, 64))
	}
	if a.Detector != "" {
		line := "detector: " + a.Detector
		if a.Mode != "" {
			line += " (" + a.Mode + ")"
		}
		lines = append(lines, line)
	}
	if a.Suppressed > 0 {
		lines = append(lines, "held back since the previous notification: "+strconv.FormatInt(a.Suppressed, 10)+" findings")
	}
	return lines
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
