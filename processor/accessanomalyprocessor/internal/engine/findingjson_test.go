// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A finding read back from storage (the roll-up of a window that outlived a restart) carries
// the same value types as the live one: integers stay int64, floats stay float64 even when
// integral.
func TestFindingJSONKeepsNumberTypes(t *testing.T) {
	live := Finding{
		RuleID: "DBX-W01", Body: "alice: 6 failed logins", Score: 55, Count: 1,
		Context: map[string]any{
			"http.response.status_code": int64(401),
			"geo.location.lat":          52.0,
			"geo.location.lon":          13.4,
			"user.email":                "alice@corp.com",
			"databricks.is_admin":       true,
			"databricks.tags":           []any{"a", int64(2), 2.0},
			"databricks.nested":         map[string]any{"n": int64(7), "x": 7.0},
		},
		Baseline: []KV{{Key: "count", Value: int64(6)}, {Key: "mean", Value: 3.0}, {Key: "values", Value: []string{"x"}}, {Key: "odd", Value: math.NaN()}},
	}
	b, err := json.Marshal(&live)
	require.NoError(t, err)
	var back Finding
	require.NoError(t, json.Unmarshal(b, &back))

	assert.Equal(t, int64(401), back.Context["http.response.status_code"])
	assert.Equal(t, 52.0, back.Context["geo.location.lat"])
	assert.Equal(t, 13.4, back.Context["geo.location.lon"])
	assert.Equal(t, "alice@corp.com", back.Context["user.email"])
	assert.Equal(t, true, back.Context["databricks.is_admin"])
	assert.Equal(t, []any{"a", int64(2), 2.0}, back.Context["databricks.tags"])
	assert.Equal(t, map[string]any{"n": int64(7), "x": 7.0}, back.Context["databricks.nested"])
	assert.Equal(t, int64(6), back.Baseline[0].Value)
	assert.Equal(t, 3.0, back.Baseline[1].Value)
	assert.Equal(t, []any{"x"}, back.Baseline[2].Value)
	assert.Nil(t, back.Baseline[3].Value, "NaN cannot be JSON: stored as null instead of failing the window")
	assert.Equal(t, live.Body, back.Body)
	assert.Equal(t, live.Score, back.Score)
	assert.Equal(t, int64(401), live.Context["http.response.status_code"], "marshalling leaves the live finding alone")

	// State written before this encoding (integral floats without a decimal point) still reads.
	var old Finding
	require.NoError(t, json.Unmarshal([]byte(`{"rule":"DBX-W01","context":{"http.response.status_code":401,"geo.location.lat":52.5},"baseline":[{"k":"mean","v":3.25}]}`), &old))
	assert.Equal(t, int64(401), old.Context["http.response.status_code"])
	assert.Equal(t, 52.5, old.Context["geo.location.lat"])
	assert.Equal(t, 3.25, old.Baseline[0].Value)
}
