// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestConfigDefaults(t *testing.T) {
	cfg := loadConfig(t, "")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, createDefaultConfig(), cfg)
	assert.Equal(t, EmitAppend, cfg.Emit)
	assert.True(t, cfg.DefaultRules)
	assert.Equal(t, "UTC", cfg.Timezone)
	assert.Equal(t, 200000, cfg.State.MaxEntities)
	assert.Equal(t, 2880*time.Hour, cfg.State.EntityIdleTTL)
	assert.Equal(t, 5*time.Second, cfg.State.FlushInterval)
	assert.Equal(t, 15*time.Minute, cfg.AllowedLateness)
	assert.Equal(t, 10, cfg.MaxEventIDs)
	assert.Equal(t, HandoffConfig{Interval: 30 * time.Second}, cfg.Handoff, "handoff is off by default")
	compiled, err := cfg.compile(component.TelemetrySettings{})
	require.NoError(t, err)
	// S10 and the sensitive-table rules stay compiled but inactive without lists.
	assert.Len(t, compiled.RuleIDs(), 31)
}

func TestConfigCustom(t *testing.T) {
	cfg := loadConfig(t, "custom")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "file_storage", cfg.StorageID.String())
	assert.Equal(t, EmitBoth, cfg.Emit)
	assert.Equal(t, "Europe/Berlin", cfg.Timezone)
	assert.Equal(t, []string{"203.0.113.0/24"}, cfg.Lists["allowed_cidrs"])
	assert.Equal(t, 2160*time.Hour, cfg.State.EntityIdleTTL)
	require.Len(t, cfg.Rules, 1)
	assert.Equal(t, "CUSTOM-1", cfg.Rules[0].ID)
	assert.Equal(t, time.Hour, cfg.Rules[0].Window)
	assert.Equal(t, 10.0, *cfg.Rules[0].Gte)
	compiled, err := cfg.compile(component.TelemetrySettings{})
	require.NoError(t, err)
	ids := compiled.RuleIDs()
	assert.Contains(t, ids, "CUSTOM-1")
	assert.Contains(t, ids, "DBX-W01")
	assert.NotContains(t, ids, "DBX-S11", "disabled by override")
}

func TestConfigHandoff(t *testing.T) {
	cfg := loadConfig(t, "handoff")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, HandoffConfig{Directory: "/var/lib/otelcol/anomaly-handoff", Interval: time.Minute}, cfg.Handoff)
	assert.Equal(t, 720*time.Hour, cfg.State.EntityIdleTTL, "snapshots expire with the entities")
}

func TestConfigNoBuiltin(t *testing.T) {
	cfg := loadConfig(t, "no_builtin")
	require.NoError(t, confmap.Validate(cfg))
	compiled, err := cfg.compile(component.TelemetrySettings{})
	require.NoError(t, err)
	assert.Equal(t, []string{"ONLY-1"}, compiled.RuleIDs())
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		wantErr []string
	}{
		{"bad_ottl", []string{"rule BROKEN-7: where:", "condition has invalid syntax"}},
		{"unknown_override", []string{"overrides::DBX-Z99: unknown rule id"}},
		{"bad_emit", []string{`emit: "sideways"`}},
		{"bad_timezone", []string{"timezone:"}},
		{"bad_state", []string{"state::max_entities"}},
		{"bad_handoff", []string{"handoff::interval: must be greater than 0"}},
		{"bad_override_value", []string{"rule DBX-W01: window: must be greater than 0"}},
		{"unknown_list", []string{"rule LISTY: where:", `unknown list "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, tt.name))
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestConfigBusinessHours(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.BusinessHours = BusinessHoursConfig{Days: []string{"mon", "funday"}, Start: "19:00", End: "8am"}
	err := cfg.Validate()
	assert.ErrorContains(t, err, `business_hours::days: "funday"`)
	assert.ErrorContains(t, err, "business_hours::end")
	cfg.BusinessHours = BusinessHoursConfig{Days: []string{"sat"}, Start: "19:00", End: "08:00"}
	assert.ErrorContains(t, cfg.Validate(), "business_hours::end: must be after start")
}
