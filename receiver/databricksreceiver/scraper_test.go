// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadatatest"
)

// findPoints returns the number data points of a metric for the resource whose attribute key
// has value val.
func findPoints(md pmetric.Metrics, resKey, resVal, metric string) []pmetric.NumberDataPoint {
	var out []pmetric.NumberDataPoint
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		if v, ok := rm.Resource().Attributes().Get(resKey); !ok || v.AsString() != resVal {
			continue
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			for k := 0; k < sms.At(j).Metrics().Len(); k++ {
				m := sms.At(j).Metrics().At(k)
				if m.Name() != metric {
					continue
				}
				var dps pmetric.NumberDataPointSlice
				if m.Type() == pmetric.MetricTypeGauge {
					dps = m.Gauge().DataPoints()
				} else {
					dps = m.Sum().DataPoints()
				}
				for d := 0; d < dps.Len(); d++ {
					out = append(out, dps.At(d))
				}
			}
		}
	}
	return out
}

// pointValues maps the value of one data-point attribute to the point's value.
func pointValues(dps []pmetric.NumberDataPoint, attr string) map[string]float64 {
	out := map[string]float64{}
	for _, dp := range dps {
		key := ""
		if v, ok := dp.Attributes().Get(attr); ok {
			key = v.AsString()
		}
		if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
			out[key] += dp.DoubleValue()
		} else {
			out[key] += float64(dp.IntValue())
		}
	}
	return out
}

func hasMetric(md pmetric.Metrics, name string) bool {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			for k := 0; k < sms.At(j).Metrics().Len(); k++ {
				if sms.At(j).Metrics().At(k).Name() == name {
					return true
				}
			}
		}
	}
	return false
}

func TestGoldenScrape(t *testing.T) {
	f := newWorkspaceAtT0()
	sink := newLogsSink()
	s := newTestScraper(t, testConfig(), f, newMemStorage(), sink, t0, nil)
	s.scrapeAt(t, t0)
	require.Empty(t, allLogs(sink), "the first scrape is a baseline")

	advanceOneMinute(f)
	md := s.scrapeAt(t, t0.Add(time.Minute))
	assertGolden(t, "scrape_metrics.json", normalizeMetrics(md))
	assertGolden(t, "scrape_logs.json", normalizeLogs(mergeLogs(sink)))
}

func TestScrapeValues(t *testing.T) {
	f := newWorkspaceAtT0()
	sink := newLogsSink()
	s := newTestScraper(t, testConfig(), f, newMemStorage(), sink, t0, nil)

	md := s.scrapeAt(t, t0)
	// First scrape: a baseline. History before the receiver's first start is not news.
	assert.Empty(t, allLogs(sink), "no events, runs or identity changes on the first scrape")
	etlState := pointValues(findPoints(md, "databricks.cluster.id", "c-etl", "databricks.cluster.state"), "databricks.cluster.state")
	assert.Equal(t, map[string]float64{"PENDING": 0, "RUNNING": 1, "RESTARTING": 0, "RESIZING": 0, "TERMINATING": 0, "TERMINATED": 0, "ERROR": 0, "UNKNOWN": 0}, etlState)
	assert.Equal(t, map[string]float64{"current": 3, "target": 4, "autoscale_min": 2, "autoscale_max": 8},
		pointValues(findPoints(md, "databricks.cluster.id", "c-etl", "databricks.cluster.workers"), "kind"))
	assert.Equal(t, map[string]float64{"": 7200}, pointValues(findPoints(md, "databricks.cluster.id", "c-etl", "databricks.cluster.uptime"), ""))
	assert.Equal(t, map[string]float64{"": 0}, pointValues(findPoints(md, "databricks.cluster.id", "c-adhoc", "databricks.cluster.uptime"), ""))
	assert.Equal(t, map[string]float64{"": 65536 * 1024 * 1024}, pointValues(findPoints(md, "databricks.cluster.id", "c-etl", "databricks.cluster.memory"), ""))
	assert.Equal(t, map[string]float64{"RUNNING": 1}, pointValues(findPoints(md, "databricks.job.id", "11", "databricks.job.runs.active"), "databricks.job.run.state"))
	assert.Equal(t, map[string]float64{"QUEUED": 1, "RUNNING": 1}, pointValues(findPoints(md, "databricks.job.id", "22", "databricks.job.runs.active"), "databricks.job.run.state"))
	assert.Equal(t, map[string]float64{"user": 2, "group": 2, "service_principal": 1, "admin": 1},
		pointValues(findPoints(md, "databricks.workspace.id", "1234567890", "databricks.identity.principals"), "kind"))
	assert.Equal(t, map[string]float64{"": 2}, pointValues(findPoints(md, "databricks.warehouse.id", "wh-1", "databricks.warehouse.clusters"), ""))
	assert.Equal(t, map[string]float64{"user": 0.4, "system": 0.1, "wait": 0.05},
		pointValues(findPoints(md, "databricks.node.instance_id", "i-1", "databricks.node.cpu.utilization"), "cpu.mode"))
	assert.Equal(t, map[string]float64{"PREMIUM_ALL_PURPOSE_COMPUTE": 3.5, "PREMIUM_JOBS_COMPUTE": 1.25},
		pointValues(findPoints(md, "databricks.workspace.id", "1234567890", "databricks.billing.usage"), "sku"))
	assert.False(t, hasMetric(md, "databricks.cluster.events"), "no events counted before any was emitted")

	advanceOneMinute(f)
	md = s.scrapeAt(t, t0.Add(time.Minute))
	logs := allLogs(sink)
	byEvent := map[string][]string{}
	for _, lr := range logs {
		switch lr.EventName() {
		case eventClusterEvent:
			v, _ := lr.Attributes().Get("databricks.cluster.event.type")
			byEvent[lr.EventName()] = append(byEvent[lr.EventName()], v.Str())
		case eventJobRun:
			id, _ := lr.Attributes().Get("databricks.job.run.id")
			res, _ := lr.Attributes().Get("databricks.job.run.result")
			byEvent[lr.EventName()] = append(byEvent[lr.EventName()], id.AsString()+":"+res.Str())
		case eventIdentityChange:
			typ, _ := lr.Attributes().Get("databricks.identity.change.type")
			name, _ := lr.Attributes().Get("databricks.principal.name")
			byEvent[lr.EventName()] = append(byEvent[lr.EventName()], typ.Str()+":"+name.Str())
		}
	}
	assert.Equal(t, []string{"RESIZING", "NODES_LOST"}, byEvent[eventClusterEvent])
	assert.Equal(t, []string{"102:FAILED", "103:SUCCESS", "50:TIMEDOUT"}, byEvent[eventJobRun], "grouped by job, by end time within a job; the two-day-old run is caught")
	assert.Equal(t, []string{"admin_granted:bob@corp.com", "member_removed:8f1e2d3c-0000-4000-8000-000000000001", "principal_created:carol@corp.com"}, byEvent[eventIdentityChange])

	assert.Equal(t, map[string]float64{"RESIZING": 1, "NODES_LOST": 1},
		pointValues(findPoints(md, "databricks.cluster.id", "c-etl", "databricks.cluster.events"), "databricks.cluster.event.type"))
	assert.Equal(t, map[string]float64{"FAILED": 1, "SUCCESS": 1}, pointValues(findPoints(md, "databricks.job.id", "11", "databricks.job.runs"), "databricks.job.run.result"))
	assert.Equal(t, map[string]float64{"TIMEDOUT": 1}, pointValues(findPoints(md, "databricks.job.id", "22", "databricks.job.runs"), "databricks.job.run.result"))
	// Job 11 had a RUNNING run that finished: the state drops to 0 instead of disappearing.
	assert.Equal(t, map[string]float64{"RUNNING": 0}, pointValues(findPoints(md, "databricks.job.id", "11", "databricks.job.runs.active"), "databricks.job.run.state"))
	assert.Equal(t, map[string]float64{"QUEUED": 0, "RUNNING": 1}, pointValues(findPoints(md, "databricks.job.id", "22", "databricks.job.runs.active"), "databricks.job.run.state"))
	// Only the late node row and the billing retraction are new.
	assert.Empty(t, findPoints(md, "databricks.node.instance_id", "i-1", "databricks.node.cpu.utilization"))
	assert.Equal(t, map[string]float64{"user": 0.8}, pointValues(findPoints(md, "databricks.node.instance_id", "i-2", "databricks.node.cpu.utilization"), "cpu.mode"))
	assert.Equal(t, map[string]float64{"PREMIUM_ALL_PURPOSE_COMPUTE": -0.5}, pointValues(findPoints(md, "databricks.workspace.id", "1234567890", "databricks.billing.usage"), "sku"))

	// The cluster terminated hours ago is read once, at first sight; the running one every time.
	assert.Equal(t, 3, f.calls["ClusterEvents"])
	md = s.scrapeAt(t, t0.Add(2*time.Minute))
	assert.Equal(t, 4, f.calls["ClusterEvents"], "c-adhoc is no longer polled")

	// The undecodable row is returned (and counted) by each of the two queries that read it.
	metadatatest.AssertEqualDatabricksRowsRejected(t, s.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("table", "system.compute.node_timeline"))},
	}, metricdatatest.IgnoreTimestamp())
	_ = md
}

// mergeLogs concatenates everything the sink received, for golden files.
func mergeLogs(sink *consumertest.LogsSink) plog.Logs {
	out := plog.NewLogs()
	for _, ld := range sink.AllLogs() {
		ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	return out
}

var _ = pcommon.NewTimestampFromTime

// A cluster that just terminated is read again on the next scrape (an event may be published
// just after the state change), then no more.
func TestRecentlyTerminatedClusterPolledTwice(t *testing.T) {
	f := newWorkspaceAtT0()
	f.clusters = f.clusters[:1]
	s := newTestScraper(t, testConfig(), f, newMemStorage(), newLogsSink(), t0, nil)
	s.scrapeAt(t, t0)
	f.mu.Lock()
	f.clusters[0].State = compute.StateTerminated
	f.clusters[0].TerminatedTime = ms(t0.Add(30 * time.Second))
	f.mu.Unlock()
	polls := []int{}
	for i := 1; i <= 4; i++ {
		before := f.calls["ClusterEvents"]
		s.scrapeAt(t, t0.Add(time.Duration(i)*time.Minute))
		polls = append(polls, f.calls["ClusterEvents"]-before)
	}
	assert.Equal(t, []int{1, 1, 0, 0}, polls)
}
