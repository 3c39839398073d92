// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// A small comparer instead of contrib's pmetrictest/plogtest (which would pull contrib test
// modules into go.mod): output is normalised to sorted, readable JSON and compared with a
// golden file. Run `go test -run TestGolden -update` to rewrite the files after a reviewed change.
var updateGolden = flag.Bool("update", false, "rewrite golden files")

type goldenPoint struct {
	Attributes map[string]any `json:"attributes,omitempty"`
	Start      string         `json:"start,omitempty"`
	Time       string         `json:"time"`
	Value      any            `json:"value,omitempty"`
	Count      uint64         `json:"count,omitempty"`
	Sum        float64        `json:"sum,omitempty"`
	Bounds     []float64      `json:"bounds,omitempty"`
	Buckets    []uint64       `json:"buckets,omitempty"`
}

type goldenMetric struct {
	Name        string        `json:"name"`
	Unit        string        `json:"unit"`
	Type        string        `json:"type"`
	Temporality string        `json:"temporality,omitempty"`
	Monotonic   bool          `json:"monotonic,omitempty"`
	Points      []goldenPoint `json:"points"`
}

type goldenResource struct {
	Resource map[string]any `json:"resource"`
	Metrics  []goldenMetric `json:"metrics,omitempty"`
	Logs     []goldenLog    `json:"logs,omitempty"`
}

type goldenLog struct {
	Time       string         `json:"time"`
	EventName  string         `json:"event_name"`
	Severity   string         `json:"severity"`
	Attributes map[string]any `json:"attributes"`
	Body       any            `json:"body"`
}

func ts(t pcommon.Timestamp) string {
	if t == 0 {
		return ""
	}
	return t.AsTime().UTC().Format("2006-01-02T15:04:05.000Z")
}

func numberValue(dp pmetric.NumberDataPoint) any {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
		return dp.DoubleValue()
	}
	return dp.IntValue()
}

func normalizeMetrics(md pmetric.Metrics) []goldenResource {
	var out []goldenResource
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		gr := goldenResource{Resource: rm.Resource().Attributes().AsRaw()}
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				gr.Metrics = append(gr.Metrics, normalizeMetric(ms.At(k)))
			}
		}
		sort.Slice(gr.Metrics, func(a, b int) bool { return gr.Metrics[a].Name < gr.Metrics[b].Name })
		out = append(out, gr)
	}
	return out
}

func normalizeMetric(m pmetric.Metric) goldenMetric {
	gm := goldenMetric{Name: m.Name(), Unit: m.Unit(), Type: m.Type().String()}
	addNumbers := func(dps pmetric.NumberDataPointSlice) {
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			gm.Points = append(gm.Points, goldenPoint{Attributes: dp.Attributes().AsRaw(), Start: ts(dp.StartTimestamp()), Time: ts(dp.Timestamp()), Value: numberValue(dp)})
		}
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		addNumbers(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		gm.Temporality = m.Sum().AggregationTemporality().String()
		gm.Monotonic = m.Sum().IsMonotonic()
		addNumbers(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		gm.Temporality = m.Histogram().AggregationTemporality().String()
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			gm.Points = append(gm.Points, goldenPoint{
				Attributes: dp.Attributes().AsRaw(), Start: ts(dp.StartTimestamp()), Time: ts(dp.Timestamp()),
				Count: dp.Count(), Sum: dp.Sum(), Bounds: dp.ExplicitBounds().AsRaw(), Buckets: dp.BucketCounts().AsRaw(),
			})
		}
	}
	return gm
}

func normalizeLogs(ld plog.Logs) []goldenResource {
	var out []goldenResource
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		gr := goldenResource{Resource: rl.Resource().Attributes().AsRaw()}
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				gr.Logs = append(gr.Logs, goldenLog{
					Time: ts(lr.Timestamp()), EventName: lr.EventName(), Severity: lr.SeverityText(),
					Attributes: lr.Attributes().AsRaw(), Body: lr.Body().AsRaw(),
				})
			}
		}
		out = append(out, gr)
	}
	return out
}

func assertGolden(t *testing.T, name string, got any) {
	t.Helper()
	raw, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(raw, '\n'), 0o600))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run with -update")
	require.JSONEq(t, string(want), string(raw))
}
