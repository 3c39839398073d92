// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadatatest"
)

func eventNames(sink *consumertest.LogsSink) map[string]int {
	out := map[string]int{}
	for _, lr := range allLogs(sink) {
		out[lr.EventName()]++
	}
	return out
}

// A restarted receiver (same storage) emits nothing twice and nothing is lost while it was down.
func TestRestartNeitherReemitsNorMisses(t *testing.T) {
	f := newWorkspaceAtT0()
	store := newMemStorage()
	cfg := testConfig()

	sink1 := newLogsSink()
	first := newTestScraper(t, cfg, f, store, sink1, t0, nil)
	first.scrapeAt(t, t0)
	advanceOneMinute(f)
	first.scrapeAt(t, t0.Add(time.Minute))
	require.Equal(t, map[string]int{eventClusterEvent: 2, eventJobRun: 3, eventIdentityChange: 3}, eventNames(sink1))

	// Restart with nothing new: nothing is re-emitted.
	sink2 := newLogsSink()
	second := newTestScraper(t, cfg, f, store, sink2, t0.Add(2*time.Minute), nil)
	md := second.scrapeAt(t, t0.Add(2*time.Minute))
	assert.Empty(t, eventNames(sink2))
	assert.Empty(t, findPoints(md, "databricks.node.instance_id", "i-1", "databricks.node.cpu.utilization"), "node rows are not re-reported")
	assert.False(t, hasMetric(md, "databricks.billing.usage"), "billing rows are not re-reported")

	// While the receiver is down: a cluster event, a run that finishes, an identity change.
	f.mu.Lock()
	f.events["c-etl"] = append(f.events["c-etl"], event("c-etl", t0.Add(3*time.Minute), compute.EventTypeUpsizeCompleted, nil))
	f.runs[2] = finishedRun(201, 22, t0.Add(-10*time.Minute), t0.Add(4*time.Minute), jobs.RunResultStateCanceled)
	f.groups[1].Members = append(f.groups[1].Members, iam.ComplexValue{Value: "u3", Ref: "Users/u3"})
	f.mu.Unlock()

	sink3 := newLogsSink()
	third := newTestScraper(t, cfg, f, store, sink3, t0.Add(10*time.Minute), nil)
	third.scrapeAt(t, t0.Add(10*time.Minute))
	assert.Equal(t, map[string]int{eventClusterEvent: 1, eventJobRun: 1, eventIdentityChange: 1}, eventNames(sink3))
	for _, lr := range allLogs(sink3) {
		switch lr.EventName() {
		case eventClusterEvent:
			v, _ := lr.Attributes().Get("databricks.cluster.event.type")
			assert.Equal(t, "UPSIZE_COMPLETED", v.Str())
		case eventJobRun:
			v, _ := lr.Attributes().Get("databricks.job.run.id")
			assert.Equal(t, int64(201), v.Int())
		case eventIdentityChange:
			v, _ := lr.Attributes().Get("databricks.identity.change.type")
			assert.Equal(t, changeMemberAdded, v.Str())
		}
	}
}

// Without storage a restart starts from "now": nothing from before the restart is re-emitted.
func TestRestartWithoutStorageEmitsNoHistory(t *testing.T) {
	f := newWorkspaceAtT0()
	advanceOneMinute(f)
	sink := newLogsSink()
	s := newTestScraper(t, testConfig(), f, newMemStorage(), sink, t0.Add(5*time.Minute), nil)
	s.scrapeAt(t, t0.Add(5*time.Minute))
	assert.Empty(t, eventNames(sink))
}

func throttled(status int) error {
	return &apierr.APIError{StatusCode: status, ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "slow down"}
}

// A failing source is absent from the scrape (not zero), is counted, and logged once per kind.
func TestFaultOmitsFailedSourceOnly(t *testing.T) {
	f := newWorkspaceAtT0()
	core, observed := observer.New(zapcore.InfoLevel)
	sink := newLogsSink()
	s := newTestScraper(t, testConfig(), f, newMemStorage(), sink, t0, zap.New(core))
	s.scrapeAt(t, t0)

	f.setFault("ListClusters", throttled(http.StatusTooManyRequests))
	f.setFault("ListWarehouses", throttled(http.StatusServiceUnavailable))
	for i := 1; i <= 3; i++ {
		md := s.scrapeAt(t, t0.Add(time.Duration(i)*time.Minute))
		assert.False(t, hasMetric(md, "databricks.cluster.state"), "failed clusters source must be absent, not zero")
		assert.False(t, hasMetric(md, "databricks.cluster.workers"))
		assert.False(t, hasMetric(md, "databricks.warehouse.state"))
		assert.Equal(t, map[string]float64{"RUNNING": 1}, pointValues(findPoints(md, "databricks.job.id", "11", "databricks.job.runs.active"), "databricks.job.run.state"),
			"the healthy jobs source is still reported")
	}
	failedLogs := observed.FilterMessageSnippet("source failed").AllUntimed()
	require.Len(t, failedLogs, 2, "one line per source and failure kind, not per scrape")
	assert.Equal(t, "http_429", failedLogs[0].ContextMap()["kind"])
	assert.Equal(t, "http_503", failedLogs[1].ContextMap()["kind"])
	metadatatest.AssertEqualDatabricksSourceFailures(t, s.tel, []metricdata.DataPoint[int64]{
		{Value: 3, Attributes: attribute.NewSet(attribute.String("source", sourceClusters))},
		{Value: 3, Attributes: attribute.NewSet(attribute.String("source", sourceWarehouses))},
	}, metricdatatest.IgnoreTimestamp())

	// A different kind of failure of the same source is logged again.
	f.setFault("ListClusters", errors.New("connection reset"))
	s.scrapeAt(t, t0.Add(4*time.Minute))
	assert.Len(t, observed.FilterMessageSnippet("source failed").AllUntimed(), 3)

	f.setFault("ListClusters", nil)
	f.setFault("ListWarehouses", nil)
	md := s.scrapeAt(t, t0.Add(5*time.Minute))
	assert.True(t, hasMetric(md, "databricks.cluster.state"))
	assert.True(t, hasMetric(md, "databricks.warehouse.state"))
	assert.Len(t, observed.FilterMessageSnippet("recovered").AllUntimed(), 2)
}

// An events call that fails for one cluster leaves that cluster's cursor alone: its events
// arrive with the next successful call, exactly once.
func TestClusterEventsFaultRetriedNextScrape(t *testing.T) {
	f := newWorkspaceAtT0()
	sink := newLogsSink()
	s := newTestScraper(t, testConfig(), f, newMemStorage(), sink, t0, nil)
	s.scrapeAt(t, t0)
	advanceOneMinute(f)
	f.setFault("ClusterEvents", throttled(http.StatusTooManyRequests))
	md := s.scrapeAt(t, t0.Add(time.Minute))
	assert.Zero(t, eventNames(sink)[eventClusterEvent])
	assert.True(t, hasMetric(md, "databricks.cluster.state"), "cluster list succeeded")
	f.setFault("ClusterEvents", nil)
	md = s.scrapeAt(t, t0.Add(2*time.Minute))
	assert.Equal(t, 2, eventNames(sink)[eventClusterEvent])
	assert.Equal(t, map[string]float64{"RESIZING": 1, "NODES_LOST": 1},
		pointValues(findPoints(md, "databricks.cluster.id", "c-etl", "databricks.cluster.events"), "databricks.cluster.event.type"))
}

// When the logs pipeline refuses, no cursor moves: the same records are offered again and the
// cumulative counters count them once, after acceptance.
func TestRefusedLogsAreRetried(t *testing.T) {
	f := newWorkspaceAtT0()
	refusing := consumertest.NewErr(errors.New("memory limiter: data refused"))
	store := newMemStorage()
	s := newTestScraper(t, testConfig(), f, store, refusing, t0, nil)
	s.scrapeAt(t, t0)
	advanceOneMinute(f)
	md := s.scrapeAt(t, t0.Add(time.Minute))
	assert.False(t, hasMetric(md, "databricks.cluster.events"), "refused events are not counted")
	assert.False(t, hasMetric(md, "databricks.job.runs"))

	sink := newLogsSink()
	s.logs = sink
	md = s.scrapeAt(t, t0.Add(2*time.Minute))
	assert.Equal(t, map[string]int{eventClusterEvent: 2, eventJobRun: 3, eventIdentityChange: 3}, eventNames(sink))
	assert.Equal(t, map[string]float64{"RESIZING": 1, "NODES_LOST": 1},
		pointValues(findPoints(md, "databricks.cluster.id", "c-etl", "databricks.cluster.events"), "databricks.cluster.event.type"))
	assert.Equal(t, map[string]float64{"FAILED": 1, "SUCCESS": 1}, pointValues(findPoints(md, "databricks.job.id", "11", "databricks.job.runs"), "databricks.job.run.result"))
}

// System-table rows are reported once, as points with their own timestamps: when the metrics
// pipeline refuses the scrape that carried them, neither their keys nor the watermark advance,
// so the next accepted scrape reports them — after a restart too, and even when it comes later
// than the table's lateness window — and the one after that does not report them again.
func TestRefusedMetricsKeepSystemTableRows(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			f := newWorkspaceAtT0()
			store := newMemStorage()
			cfg := testConfig()
			s := newTestScraper(t, cfg, f, store, newLogsSink(), t0, nil)
			md := s.scrapeAt(t, t0)
			require.Len(t, findPoints(md, "databricks.node.instance_id", "i-1", "databricks.node.memory.utilization"), 1)

			f.mu.Lock()
			f.nodeRows = append(f.nodeRows, nodeTimelineRow{
				WorkspaceID: "1234567890", ClusterID: "c-etl", InstanceID: "i-3",
				StartTime: t0.Add(10 * time.Second), EndTime: t0.Add(50 * time.Second), MemUsedPercent: f64(70),
			})
			f.billingRows = append(f.billingRows, billingUsageRow{RecordID: "rec-4", WorkspaceID: "1234567890", SKUName: "PREMIUM_JOBS_COMPUTE",
				BillingOriginProduct: "JOBS", UsageUnit: "DBU", UsageStartTime: t0.Add(-time.Hour), UsageEndTime: t0, UsageQuantity: 2})
			f.mu.Unlock()
			md = s.scrapeAnswered(t, t0.Add(time.Minute), errors.New("sending queue is full"))
			require.Len(t, findPoints(md, "databricks.node.instance_id", "i-3", "databricks.node.memory.utilization"), 1, "the refused scrape carried the new rows")
			metadatatest.AssertEqualDatabricksSourceFailures(t, s.tel, []metricdata.DataPoint[int64]{
				{Value: 1, Attributes: attribute.NewSet(attribute.String("source", sourceMetricsConsumer))},
			}, metricdatatest.IgnoreTimestamp())

			if restart {
				s = newTestScraper(t, cfg, f, store, newLogsSink(), t0.Add(3*time.Hour), nil)
			}
			// Three hours later: past the node table's 2-hour window, which alone would no
			// longer reach back to the refused rows.
			md = s.scrapeAt(t, t0.Add(3*time.Hour))
			nodePoints := findPoints(md, "databricks.node.instance_id", "i-3", "databricks.node.memory.utilization")
			require.Len(t, nodePoints, 1, "the refused node row is reported once the pipeline accepts")
			assert.InDelta(t, 0.7, nodePoints[0].DoubleValue(), 1e-9)
			assert.Empty(t, findPoints(md, "databricks.node.instance_id", "i-1", "databricks.node.memory.utilization"), "the accepted row is not re-reported")
			assert.Equal(t, map[string]float64{"PREMIUM_JOBS_COMPUTE": 2},
				pointValues(findPoints(md, "databricks.workspace.id", "1234567890", "databricks.billing.usage"), "sku"),
				"only the refused billing row; the two accepted at T0 are not reported again")

			md = s.scrapeAt(t, t0.Add(3*time.Hour+time.Minute))
			assert.Empty(t, findPoints(md, "databricks.node.instance_id", "i-3", "databricks.node.memory.utilization"))
			assert.False(t, hasMetric(md, "databricks.billing.usage"), "accepted rows are reported once")
		})
	}
}
