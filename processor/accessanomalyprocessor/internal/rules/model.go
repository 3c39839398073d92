// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

// Package rules holds the rule model shared by the built-in pack and user
// rules, the embedded built-in pack, and the merge of overrides.
package rules // import "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"

import (
	"time"
)

// Detector types.
const (
	TypeMatch            = "match"
	TypeThreshold        = "threshold"
	TypeSequence         = "sequence"
	TypeNewValue         = "new_value"
	TypeRare             = "rare"
	TypeSpike            = "spike"
	TypeTimeProfile      = "time_profile"
	TypeImpossibleTravel = "impossible_travel"
	TypeDormancy         = "dormancy"
	TypeRisk             = "risk"
)

// Modes.
const (
	ModeLive   = "live"
	ModeDryRun = "dry_run"
)

// Noise filters a rule can apply before its condition is evaluated.
const (
	NoiseSystemUser        = "system_user"         // identity in lists.system_identities
	NoiseServiceUserAgents = "service_user_agents" // user agent contains an entry of lists.service_user_agents
	NoisePrivateIP         = "private_ip"          // source.address empty, unparsable or private
	NoiseTelemetryPaths    = "telemetry_paths"     // request path contains an entry of lists.excluded_paths
)

// Severities, lowest first.
var Severities = []string{"info", "low", "medium", "high", "critical"}

// IdentityExpr is the default group_by: one entity per identity.
const IdentityExpr = `log.attributes["user.email"]`

// Rule is one detection, built-in or user-written. Fields not used by the
// rule's type are ignored.
type Rule struct {
	ID            string         `mapstructure:"id"`
	Name          string         `mapstructure:"name"`
	Description   string         `mapstructure:"description"`
	Type          string         `mapstructure:"type"`
	Category      string         `mapstructure:"category"`
	Severity      string         `mapstructure:"severity"`
	SeverityCases []SeverityCase `mapstructure:"severity_cases"`
	Attack        []string       `mapstructure:"attack"`
	Tactics       []string       `mapstructure:"tactics"`
	Reference     string         `mapstructure:"reference"`
	Enabled       *bool          `mapstructure:"enabled"`
	Mode          string         `mapstructure:"mode"`

	// Prefilter restricts the rule to records whose databricks.service_name /
	// databricks.action_name match (exact, glob, or "@list" for a named list),
	// so a record only evaluates the few rules that can match it.
	Prefilter Prefilter `mapstructure:"prefilter"`
	// RequiresLists keeps the rule inactive while all of these lists are empty
	// (e.g. DBX-S10 without allowed_cidrs).
	RequiresLists []string `mapstructure:"requires_lists"`
	NoiseFilters  []string `mapstructure:"noise_filters"`

	Where      string   `mapstructure:"where"`
	Exceptions []string `mapstructure:"exceptions"`
	// AlertFilter is evaluated only when the detector fires: the event still
	// trains the baseline, but no finding is produced unless it holds.
	AlertFilter string   `mapstructure:"alert_filter"`
	GroupBy     []string `mapstructure:"group_by"`
	Suppress    Suppress `mapstructure:"suppress"`

	// threshold
	Aggregate string `mapstructure:"aggregate"` // count | distinct | sum
	Value     string `mapstructure:"value"`     // OTTL value expression (distinct, sum, new_value, rare)
	// ValueLabel names the value in finding text ("network", "secret");
	// defaults to the attribute name or "value".
	ValueLabel string        `mapstructure:"value_label"`
	Window     time.Duration `mapstructure:"window"`
	Gte        *float64      `mapstructure:"gte"`
	Gt         *float64      `mapstructure:"gt"`

	// sequence
	Steps  []Step        `mapstructure:"steps"`
	Within time.Duration `mapstructure:"within"`

	// behavioural gating (new_value, rare, spike, time_profile, impossible_travel, dormancy)
	LearningPeriod   time.Duration `mapstructure:"learning_period"`
	MinEntityEvents  int           `mapstructure:"min_entity_events"`
	MinActiveDays    int           `mapstructure:"min_active_days"`
	ForgetAfter      time.Duration `mapstructure:"forget_after"`
	MaxValues        int           `mapstructure:"max_values"`
	GlobalPrevalence Prevalence    `mapstructure:"global_prevalence_suppress"`

	// rare
	MaxShare         float64 `mapstructure:"max_share"`
	MinHistoryEvents int     `mapstructure:"min_history_events"`

	// spike
	Metric           string        `mapstructure:"metric"` // count | distinct
	Bucket           time.Duration `mapstructure:"bucket"`
	Baseline         string        `mapstructure:"baseline"` // ewma | hour_of_week
	Z                float64       `mapstructure:"z"`
	RatioWhenFlat    float64       `mapstructure:"ratio_when_flat"`
	MaxMultiplier    float64       `mapstructure:"max_multiplier"`
	Floor            float64       `mapstructure:"floor"`
	MinActiveBuckets int           `mapstructure:"min_active_buckets"`
	ColdStartFloor   float64       `mapstructure:"cold_start_floor"`

	// time_profile
	MinWeeks   int     `mapstructure:"min_weeks"`
	PThreshold float64 `mapstructure:"p_threshold"`
	// FallbackSeverity applies while the profile is immature and the
	// static business hours decide (a weaker signal than the learned profile).
	FallbackSeverity string `mapstructure:"fallback_severity"`

	// impossible_travel
	MaxSpeedKmh   float64 `mapstructure:"max_speed_kmh"`
	MinDistanceKm float64 `mapstructure:"min_distance_km"`

	// dormancy
	InactiveFor time.Duration `mapstructure:"inactive_for"`

	// risk
	Threshold       float64            `mapstructure:"threshold"`
	Weights         map[string]float64 `mapstructure:"weights"`
	DistinctTactics DistinctTactics    `mapstructure:"distinct_tactics"`
}

// SeverityCase raises or lowers the severity when its OTTL condition holds on
// the triggering record; the first matching case wins.
type SeverityCase struct {
	When     string `mapstructure:"when"`
	Severity string `mapstructure:"severity"`
}

// Prefilter lists services and actions (exact, glob, or "@list_name").
type Prefilter struct {
	Services []string `mapstructure:"services"`
	Actions  []string `mapstructure:"actions"`
}

// Suppress folds repeats of a finding with the same key into one.
type Suppress struct {
	Key    []string      `mapstructure:"key"`
	Window time.Duration `mapstructure:"window"`
}

// Step of a sequence rule.
type Step struct {
	Where    string `mapstructure:"where"`
	MinCount int    `mapstructure:"min_count"`
}

// Prevalence suppresses a new value already used by at least MinEntities
// other entities within Window.
type Prevalence struct {
	MinEntities int           `mapstructure:"min_entities"`
	Window      time.Duration `mapstructure:"window"`
}

// DistinctTactics fires the risk rule on this many distinct ATT&CK tactics,
// counting only findings of at least MinSeverity (low-fidelity novelty alone
// spans tactics too easily).
type DistinctTactics struct {
	Min         int           `mapstructure:"min"`
	Window      time.Duration `mapstructure:"window"`
	MinSeverity string        `mapstructure:"min_severity"`
}

// IsEnabled defaults to true.
func (r Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// IsBehavioural reports detector types that learn a baseline.
func (r *Rule) IsBehavioural() bool {
	switch r.Type {
	case TypeNewValue, TypeRare, TypeSpike, TypeTimeProfile, TypeImpossibleTravel, TypeDormancy:
		return true
	}
	return false
}
