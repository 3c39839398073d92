// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package rules

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rule ids are a contract with users and tests (DESIGN §3.3).
var contractIDs = []string{
	"DBX-S01", "DBX-S02", "DBX-S03", "DBX-S04", "DBX-S05", "DBX-S07", "DBX-S08", "DBX-S09", "DBX-S10",
	"DBX-S11", "DBX-S12", "DBX-S17", "DBX-S20", "DBX-W01", "DBX-W01b", "DBX-W02", "DBX-W04", "DBX-W05",
	"DBX-W06", "DBX-W07", "DBX-W08", "DBX-B01", "DBX-B03", "DBX-B05", "DBX-B06", "DBX-B07", "DBX-B08",
	"DBX-B09", "DBX-B10", "DBX-B11", "DBX-B14",
}

func TestBuiltinPackMatchesContract(t *testing.T) {
	rs, err := Builtin()
	require.NoError(t, err)
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
		require.NoError(t, r.ValidateStatic(), r.ID)
		assert.NotEmpty(t, r.Name, r.ID)
		assert.NotEmpty(t, r.Reference, r.ID)
		if r.Type != TypeRisk {
			assert.NotEmpty(t, r.Attack, r.ID)
			assert.NotEmpty(t, r.Tactics, r.ID)
		}
	}
	assert.ElementsMatch(t, contractIDs, ids)
}

func TestResolveOverrides(t *testing.T) {
	rs, err := Resolve(true, []Rule{{ID: "CUSTOM-1", Type: TypeMatch, Severity: "low", Where: "true"}},
		map[string]map[string]any{
			"DBX-W01": {"gte": 10, "suppress": map[string]any{"window": "2h"}},
			"DBX-S11": {"enabled": false},
		})
	require.NoError(t, err)
	byID := map[string]Rule{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	require.NotNil(t, byID["DBX-W01"].Gte)
	assert.Equal(t, 10.0, *byID["DBX-W01"].Gte)
	assert.Equal(t, "2h0m0s", byID["DBX-W01"].Suppress.Window.String())
	assert.Equal(t, 60.0, byID["DBX-W01"].Window.Minutes())
	assert.False(t, byID["DBX-S11"].IsEnabled())
	assert.True(t, byID["DBX-S01"].IsEnabled())
	assert.Equal(t, "CUSTOM-1", rs[len(rs)-1].ID)

	// Overrides must not leak into the next resolution.
	again, err := Builtin()
	require.NoError(t, err)
	for _, r := range again {
		if r.ID == "DBX-W01" {
			assert.Equal(t, 5.0, *r.Gte)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name      string
		user      []Rule
		overrides map[string]map[string]any
		wantErr   string
	}{
		{name: "unknown override", overrides: map[string]map[string]any{"DBX-X99": {"enabled": false}}, wantErr: "overrides::DBX-X99: unknown rule id"},
		{name: "override of user rule", user: []Rule{{ID: "MINE"}}, overrides: map[string]map[string]any{"MINE": {"gte": 1}}, wantErr: "overrides::MINE"},
		{name: "duplicate id", user: []Rule{{ID: "DBX-S01"}}, wantErr: "rules::DBX-S01: duplicate rule id"},
		{name: "id override", overrides: map[string]map[string]any{"DBX-S01": {"id": "X"}}, wantErr: "cannot be overridden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(true, tt.user, tt.overrides)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestDefaultRulesOff(t *testing.T) {
	rs, err := Resolve(false, []Rule{{ID: "ONLY", Type: TypeMatch, Severity: "low", Where: "true"}}, map[string]map[string]any{"DBX-S01": {"enabled": false}})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "ONLY", rs[0].ID)
}

func TestValidateStatic(t *testing.T) {
	gte := 3.0
	tests := []struct {
		name    string
		rule    Rule
		wantErr string
	}{
		{"bad type", Rule{ID: "R", Type: "bogus", Severity: "low", Where: "true"}, "rule R: type: unknown detector type"},
		{"bad severity", Rule{ID: "R", Type: TypeMatch, Severity: "urgent", Where: "true"}, "rule R: severity"},
		{"threshold no window", Rule{ID: "R", Type: TypeThreshold, Severity: "low", Where: "true", Gte: &gte}, "rule R: window"},
		{"threshold both", Rule{ID: "R", Type: TypeThreshold, Severity: "low", Where: "true", Window: 1, Gte: &gte, Gt: &gte}, "exactly one of gte or gt"},
		{"distinct without value", Rule{ID: "R", Type: TypeThreshold, Severity: "low", Where: "true", Window: 1, Gte: &gte, Aggregate: "distinct"}, "rule R: value"},
		{"sequence one step", Rule{ID: "R", Type: TypeSequence, Severity: "low", Within: 1, Steps: []Step{{Where: "true"}}}, "at least 2 steps"},
		{"bad noise filter", Rule{ID: "R", Type: TypeMatch, Severity: "low", Where: "true", NoiseFilters: []string{"x"}}, "unknown filter"},
		{"bad id", Rule{ID: "", Type: TypeMatch}, "id: must be"},
		{"no where", Rule{ID: "R", Type: TypeMatch, Severity: "low"}, "rule R: where"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.rule.ValidateStatic(), tt.wantErr)
		})
	}
}
