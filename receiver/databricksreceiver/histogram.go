// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"math"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// mdatagen v0.159 generates only sums and gauges, so the run-duration histogram
// (databricks.job.run.duration) is assembled here and merged into the job's resource.
const (
	metricJobRunDuration     = "databricks.job.run.duration"
	metricJobRunDurationDesc = "Duration of finished job runs since the receiver started, by result."
)

// runDurationBounds (seconds) span quick tasks to day-long batch jobs.
var runDurationBounds = []float64{1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400}

type durationHistogram struct {
	count    uint64
	sum      float64
	min, max float64
	buckets  []uint64
}

func newDurationHistogram() *durationHistogram {
	return &durationHistogram{buckets: make([]uint64, len(runDurationBounds)+1), min: math.Inf(1), max: math.Inf(-1)}
}

func (h *durationHistogram) observe(v float64) {
	h.count++
	h.sum += v
	h.min = math.Min(h.min, v)
	h.max = math.Max(h.max, v)
	h.buckets[sort.SearchFloat64s(runDurationBounds, v)]++
}

type pendingHistogram struct {
	resource pcommon.Resource
	byResult map[string]*durationHistogram
}

// appendHistograms adds each pending histogram to the ResourceMetrics of the same resource
// (the job's), creating one when the job emitted no other metric.
func appendHistograms(md pmetric.Metrics, pending []pendingHistogram, start, now pcommon.Timestamp, version string) {
	for _, p := range pending {
		var target pmetric.ScopeMetrics
		found := false
		for i := 0; i < md.ResourceMetrics().Len() && !found; i++ {
			rm := md.ResourceMetrics().At(i)
			if rm.Resource().Attributes().Equal(p.resource.Attributes()) && rm.ScopeMetrics().Len() > 0 {
				target, found = rm.ScopeMetrics().At(0), true
			}
		}
		if !found {
			rm := md.ResourceMetrics().AppendEmpty()
			p.resource.CopyTo(rm.Resource())
			target = rm.ScopeMetrics().AppendEmpty()
			target.Scope().SetName(metadata.ScopeName)
			target.Scope().SetVersion(version)
		}
		m := target.Metrics().AppendEmpty()
		m.SetName(metricJobRunDuration)
		m.SetDescription(metricJobRunDurationDesc)
		m.SetUnit("s")
		hist := m.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for _, result := range sortedKeys(p.byResult) {
			h := p.byResult[result]
			dp := hist.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(now)
			dp.Attributes().PutStr("databricks.job.run.result", result)
			dp.SetCount(h.count)
			dp.SetSum(h.sum)
			dp.SetMin(h.min)
			dp.SetMax(h.max)
			dp.ExplicitBounds().FromRaw(runDurationBounds)
			dp.BucketCounts().FromRaw(h.buckets)
		}
	}
}
