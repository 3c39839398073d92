// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePromQL(t *testing.T) {
	tests := []struct {
		name         string
		expr         string
		wantSelector []selectorRef
		wantGrouping []string
	}{
		{
			name:         "bare metric",
			expr:         "up",
			wantSelector: []selectorRef{{Metric: "up"}},
		},
		{
			name: "aggregation with by before the body, range and Grafana variables",
			expr: `sum by (databricks_service_name) (rate(databricks_audit_events_total{databricks_workspace_id=~"$workspace"}[$__rate_interval]))`,
			wantSelector: []selectorRef{
				{Metric: "databricks_audit_events_total", Labels: []string{"databricks_workspace_id"}},
			},
			wantGrouping: []string{"databricks_service_name"},
		},
		{
			name: "aggregation with by after the body",
			expr: `max(databricks_cluster_workers{kind="current", databricks_workspace_id!="x"}) by (databricks_cluster_name)`,
			wantSelector: []selectorRef{
				{Metric: "databricks_cluster_workers", Labels: []string{"kind", "databricks_workspace_id"}},
			},
			wantGrouping: []string{"databricks_cluster_name"},
		},
		{
			name: "binary operators, on(), offset, numbers and durations",
			expr: "(a_total unless a_total offset 30m) + 0 or increase(b_total[1h:5m]) > 5 * 1024 and on (x, y) c_ratio == 1e3",
			wantSelector: []selectorRef{
				{Metric: "a_total"}, {Metric: "a_total"}, {Metric: "b_total"}, {Metric: "c_ratio"},
			},
			wantGrouping: []string{"x", "y"},
		},
		{
			name:         "keywords and functions are not metrics",
			expr:         "topk(10, count_values without (le) (\"v\", m)) or vector(0) or absent(n) == bool 1",
			wantSelector: []selectorRef{{Metric: "m"}, {Metric: "n"}},
			wantGrouping: []string{"le"},
		},
		{
			name:         "strings with braces and escaped quotes are skipped",
			expr:         `label_replace(m{a="}{\"x"}, "dst", "$1", "src", "(.*)")`,
			wantSelector: []selectorRef{{Metric: "m", Labels: []string{"a"}}},
		},
		{
			name:         "group_left with labels and comments",
			expr:         "m1 * on (k) group_left (extra) m2 # the join",
			wantSelector: []selectorRef{{Metric: "m1"}, {Metric: "m2"}},
			wantGrouping: []string{"k", "extra"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refs, err := parsePromQL(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.wantSelector, refs.Selectors)
			assert.Equal(t, tt.wantGrouping, refs.GroupingLabels)
		})
	}
}

func TestParsePromQLRejects(t *testing.T) {
	tests := []struct {
		name string
		expr string
	}{
		{name: "selector without a metric name", expr: `sum(rate({__name__=~"databricks_.*"}[5m]))`},
		{name: "unterminated string", expr: `m{a="x}`},
		{name: "unterminated matcher", expr: `m{a="x"`},
		{name: "unterminated range", expr: `rate(m[5m)`},
		{name: "garbage in a grouping clause", expr: `sum by (a, "b") (m)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePromQL(tt.expr)
			assert.Error(t, err)
		})
	}
}
