// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"fmt"
	"time"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

// detector is one detector type. newState returns the per-(rule, entity)
// state (a pointer to a JSON-serialisable struct, or nil when the detector
// only reads the entity summary); observe updates it with a record that
// passed the rule's filters and reports a hit when the rule fires.
type detector interface {
	newState() any
	observe(c *evalCtx, r *compiledRule, ent *entity, st any) *hit
}

func newDetector(r rules.Rule) (detector, error) {
	switch r.Type {
	case rules.TypeMatch:
		return matchDetector{}, nil
	case rules.TypeThreshold:
		return newThresholdDetector(r), nil
	case rules.TypeSequence:
		return sequenceDetector{}, nil
	case rules.TypeNewValue:
		return newValueDetector{}, nil
	case rules.TypeRare:
		return rareDetector{}, nil
	case rules.TypeSpike:
		return spikeDetector{}, nil
	case rules.TypeTimeProfile:
		return timeProfileDetector{}, nil
	case rules.TypeImpossibleTravel:
		return travelDetector{}, nil
	case rules.TypeDormancy:
		return dormancyDetector{}, nil
	case rules.TypeRisk:
		return riskDetector{}, nil
	}
	return nil, fmt.Errorf("unknown detector type %q", r.Type)
}

// learned gates behavioural detectors: the entity and the rule must both be
// older than the learning period, with enough active days and events.
func (c *evalCtx) learned(r *compiledRule, ent *entity) bool {
	start := ent.first
	if r.since > start {
		start = r.since
	}
	if start == 0 || c.ev.time-start < int64(r.rule.LearningPeriod) {
		return false
	}
	if int(ent.activeDays) < r.rule.MinActiveDays {
		return false
	}
	return int(ent.events) >= r.rule.MinEntityEvents
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return d.String()
	}
}

func fmtTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

// matchDetector fires on every record that passes the rule's filters.
type matchDetector struct{}

func (matchDetector) newState() any { return nil }

func (matchDetector) observe(c *evalCtx, _ *compiledRule, _ *entity, _ any) *hit {
	reason := c.ev.service + "." + c.ev.action
	if obj, ok := attrString(c, AttrObjectName); ok && obj != "" {
		reason += " on " + obj
	}
	return &hit{reason: reason, first: c.ev.time, last: c.ev.time}
}

// dormancyDetector fires on activity after inactive_for of silence. The
// entity summary is updated after the rules ran, so last is the previous
// activity; a freshly deployed processor has no previous activity and
// therefore cannot call everyone dormant.
type dormancyDetector struct{}

func (dormancyDetector) newState() any { return nil }

func (dormancyDetector) observe(c *evalCtx, r *compiledRule, ent *entity, _ any) *hit {
	if ent.last == 0 {
		return nil
	}
	gap := c.ev.time - ent.last
	if gap < int64(r.rule.InactiveFor) {
		return nil
	}
	return &hit{
		reason: fmt.Sprintf("first activity in %s (inactive for at least %s)", fmtDuration(time.Duration(gap).Truncate(time.Hour)), fmtDuration(r.rule.InactiveFor)),
		value:  float64(gap), limit: float64(r.rule.InactiveFor),
		baseline: []KV{
			{"last_seen", fmtTime(ent.last)},
			{"first_seen", fmtTime(ent.first)},
			{"inactive_days", gap / int64(24*time.Hour)},
		},
		first: c.ev.time, last: c.ev.time,
	}
}
