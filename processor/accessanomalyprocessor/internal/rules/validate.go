// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
)

var ruleIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ValidateStatic checks everything about a rule that does not need the OTTL
// parser; errors name the rule id and the field.
func (r *Rule) ValidateStatic() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("rule %s: %s: %s", r.ID, field, fmt.Sprintf(format, args...)))
	}
	if !ruleIDPattern.MatchString(r.ID) {
		return fmt.Errorf("rule %q: id: must be non-empty letters, digits, '.', '_' or '-'", r.ID)
	}
	if !slices.Contains(Severities, r.Severity) {
		fail("severity", "%q is not one of %v", r.Severity, Severities)
	}
	for i, c := range r.SeverityCases {
		if !slices.Contains(Severities, c.Severity) {
			fail(fmt.Sprintf("severity_cases[%d].severity", i), "%q is not one of %v", c.Severity, Severities)
		}
		if c.When == "" {
			fail(fmt.Sprintf("severity_cases[%d].when", i), "must be set")
		}
	}
	switch r.Mode {
	case "", ModeLive, ModeDryRun:
	default:
		fail("mode", "%q is not live or dry_run", r.Mode)
	}
	for _, f := range r.NoiseFilters {
		if !slices.Contains([]string{NoiseSystemUser, NoiseServiceUserAgents, NoisePrivateIP, NoiseTelemetryPaths}, f) {
			fail("noise_filters", "unknown filter %q", f)
		}
	}
	if r.Suppress.Window < 0 {
		fail("suppress.window", "must not be negative")
	}
	positive := func(field string, ok bool) {
		if !ok {
			fail(field, "must be greater than 0")
		}
	}
	switch r.Type {
	case TypeMatch:
	case TypeThreshold:
		positive("window", r.Window > 0)
		if (r.Gte == nil) == (r.Gt == nil) {
			fail("gte/gt", "exactly one of gte or gt must be set")
		}
		switch r.Aggregate {
		case "", "count":
		case "distinct", "sum":
			if r.Value == "" {
				fail("value", "aggregate %s needs a value expression", r.Aggregate)
			}
		default:
			fail("aggregate", "%q is not count, distinct or sum", r.Aggregate)
		}
	case TypeSequence:
		positive("within", r.Within > 0)
		if len(r.Steps) < 2 {
			fail("steps", "a sequence needs at least 2 steps")
		}
		for i, s := range r.Steps {
			if s.Where == "" {
				fail(fmt.Sprintf("steps[%d].where", i), "must be set")
			}
			if s.MinCount < 0 || s.MinCount > 64 {
				fail(fmt.Sprintf("steps[%d].min_count", i), "must be between 1 and 64")
			}
		}
	case TypeNewValue, TypeRare:
		if r.Value == "" {
			fail("value", "must be set")
		}
		if r.MaxValues < 0 || r.MaxValues > 4096 {
			fail("max_values", "must be between 1 and 4096")
		}
		if r.Type == TypeRare && (r.MaxShare < 0 || r.MaxShare >= 1) {
			fail("max_share", "must be in [0, 1)")
		}
	case TypeSpike:
		positive("bucket", r.Bucket > 0)
		switch r.Metric {
		case "", "count":
		case "distinct":
			if r.Value == "" {
				fail("value", "metric distinct needs a value expression")
			}
		default:
			fail("metric", "%q is not count or distinct", r.Metric)
		}
		switch r.Baseline {
		case "", "ewma", "hour_of_week":
		default:
			fail("baseline", "%q is not ewma or hour_of_week", r.Baseline)
		}
	case TypeTimeProfile:
		if r.PThreshold < 0 || r.PThreshold >= 1 {
			fail("p_threshold", "must be in [0, 1)")
		}
		if r.FallbackSeverity != "" && !slices.Contains(Severities, r.FallbackSeverity) {
			fail("fallback_severity", "%q is not one of %v", r.FallbackSeverity, Severities)
		}
	case TypeImpossibleTravel:
		positive("max_speed_kmh", r.MaxSpeedKmh > 0)
	case TypeDormancy:
		positive("inactive_for", r.InactiveFor > 0)
	case TypeRisk:
		positive("window", r.Window > 0)
		positive("threshold", r.Threshold > 0)
		if ms := r.DistinctTactics.MinSeverity; ms != "" && !slices.Contains(Severities, ms) {
			fail("distinct_tactics.min_severity", "%q is not one of %v", ms, Severities)
		}
	default:
		fail("type", "unknown detector type %q", r.Type)
	}
	if r.Type != TypeRisk && r.Type != TypeSequence && r.Where == "" && len(r.Prefilter.Actions) == 0 && len(r.Prefilter.Services) == 0 {
		fail("where", "must be set (or restrict the rule with prefilter)")
	}
	return errors.Join(errs...)
}
