// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor // import "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/engine"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

// Emit modes.
const (
	EmitAppend   = "append"
	EmitAnnotate = "annotate"
	EmitBoth     = "both"
)

// Config of the access_anomaly processor.
type Config struct {
	// StorageID names a storage extension (e.g. file_storage) holding
	// baselines, windows, suppression timers and learning clocks.
	StorageID *component.ID `mapstructure:"storage"`
	// Emit is append (new finding records), annotate (attributes on the
	// triggering record) or both.
	Emit string `mapstructure:"emit"`
	// DefaultRules enables the built-in Databricks rule pack.
	DefaultRules bool `mapstructure:"default_rules"`
	// Timezone (IANA name) for business hours and hour-of-week profiles.
	Timezone      string              `mapstructure:"timezone"`
	BusinessHours BusinessHoursConfig `mapstructure:"business_hours"`
	// Lists are named value lists (InList, IsInCIDR, noise filters); a list
	// given here replaces the built-in list of the same name.
	Lists map[string][]string `mapstructure:"lists"`
	State StateConfig         `mapstructure:"state"`
	// Handoff hands identity state to the next owner when tier-2 instances
	// join or leave (docs/state-handoff.md).
	Handoff HandoffConfig `mapstructure:"handoff"`
	// AllowedLateness: records older than the newest event time minus this
	// still update baselines but no longer count in windows.
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	// MaxFutureSkew: event times further ahead of the clock are clamped.
	MaxFutureSkew time.Duration `mapstructure:"max_future_skew"`
	// MaxEventIDs bounds databricks.event_ids on a finding.
	MaxEventIDs int `mapstructure:"max_event_ids"`
	// Rules are user rules, in the same model as the built-in pack.
	Rules []rules.Rule `mapstructure:"rules"`
	// Overrides change fields of built-in rules by id.
	Overrides map[string]map[string]any `mapstructure:"overrides"`
}

// BusinessHoursConfig is the static working week used until an identity's
// hour-of-week profile is mature.
type BusinessHoursConfig struct {
	Days  []string `mapstructure:"days"`
	Start string   `mapstructure:"start"`
	End   string   `mapstructure:"end"`
}

// StateConfig bounds the in-memory state.
type StateConfig struct {
	MaxEntities   int           `mapstructure:"max_entities"`
	EntityIdleTTL time.Duration `mapstructure:"entity_idle_ttl"`
	// FlushInterval is how often changed state is written to storage.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
}

// HandoffConfig: with a directory shared by every instance (an RWX volume),
// each instance writes the state of the identities it changed there, one
// file per identity, and a new owner reads it on first sight of an
// identity. Empty directory = off.
type HandoffConfig struct {
	Directory string `mapstructure:"directory"`
	// Interval between writes of the identities changed since the previous
	// write (and once more on shutdown). It bounds how stale a snapshot is
	// when an instance joins and takes identities from owners that keep
	// running.
	Interval time.Duration `mapstructure:"interval"`
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		Emit:         EmitAppend,
		DefaultRules: true,
		Timezone:     "UTC",
		BusinessHours: BusinessHoursConfig{
			Days:  []string{"mon", "tue", "wed", "thu", "fri"},
			Start: "08:00",
			End:   "19:00",
		},
		State: StateConfig{
			MaxEntities:   200000,
			EntityIdleTTL: 2880 * time.Hour,
			FlushInterval: 5 * time.Second,
		},
		Handoff:         HandoffConfig{Interval: 30 * time.Second},
		AllowedLateness: 15 * time.Minute,
		MaxFutureSkew:   5 * time.Minute,
		MaxEventIDs:     10,
	}
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// engineConfig converts and checks the settings the engine needs.
func (c *Config) engineConfig() (engine.Config, error) {
	var errs []error
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		errs = append(errs, fmt.Errorf("timezone: %w", err))
	}
	var bh engine.BusinessHours
	for _, d := range c.BusinessHours.Days {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			errs = append(errs, fmt.Errorf("business_hours::days: %q is not one of mon..sun", d))
			continue
		}
		bh.Days[wd] = true
	}
	if bh.StartMinutes, err = parseClock(c.BusinessHours.Start); err != nil {
		errs = append(errs, fmt.Errorf("business_hours::start: %w", err))
	}
	if bh.EndMinutes, err = parseClock(c.BusinessHours.End); err != nil {
		errs = append(errs, fmt.Errorf("business_hours::end: %w", err))
	}
	if err == nil && bh.EndMinutes <= bh.StartMinutes {
		errs = append(errs, errors.New("business_hours::end: must be after start"))
	}
	return engine.Config{
		Lists:                 c.Lists,
		Location:              loc,
		BusinessHours:         bh,
		MaxEntities:           c.State.MaxEntities,
		EntityIdleTTL:         c.State.EntityIdleTTL,
		AllowedLateness:       c.AllowedLateness,
		MaxFutureSkew:         c.MaxFutureSkew,
		MaxEventIDs:           c.MaxEventIDs,
		DefaultSuppressWindow: time.Hour,
	}, errors.Join(errs...)
}

// compile resolves and compiles the rule set; Validate and the factory
// share it so a config that validates also starts.
func (c *Config) compile(set component.TelemetrySettings) (*engine.Compiled, error) {
	ec, err := c.engineConfig()
	if err != nil {
		return nil, err
	}
	rs, err := rules.Resolve(c.DefaultRules, c.Rules, c.Overrides)
	if err != nil {
		return nil, err
	}
	compiled, err := engine.Compile(ec, rs, set)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return compiled, nil
}

// Validate checks every key; rule errors name the rule id and the OTTL
// parser's message.
func (c *Config) Validate() error {
	var errs []error
	switch c.Emit {
	case EmitAppend, EmitAnnotate, EmitBoth:
	default:
		errs = append(errs, fmt.Errorf("emit: %q is not append, annotate or both", c.Emit))
	}
	if c.State.MaxEntities <= 0 {
		errs = append(errs, errors.New("state::max_entities: must be greater than 0"))
	}
	if c.State.EntityIdleTTL < 0 {
		errs = append(errs, errors.New("state::entity_idle_ttl: must not be negative"))
	}
	if c.State.FlushInterval <= 0 {
		errs = append(errs, errors.New("state::flush_interval: must be greater than 0"))
	}
	if c.Handoff.Directory != "" && c.Handoff.Interval <= 0 {
		errs = append(errs, errors.New("handoff::interval: must be greater than 0"))
	}
	if c.AllowedLateness < 0 {
		errs = append(errs, errors.New("allowed_lateness: must not be negative"))
	}
	if c.MaxFutureSkew < 0 {
		errs = append(errs, errors.New("max_future_skew: must not be negative"))
	}
	if c.MaxEventIDs < 1 || c.MaxEventIDs > 1000 {
		errs = append(errs, errors.New("max_event_ids: must be between 1 and 1000"))
	}
	if len(errs) == 0 {
		if _, err := c.compile(component.TelemetrySettings{Logger: zap.NewNop()}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
