// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadatatest"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Connection.Endpoint = "https://dbc-test.cloud.databricks.com"
	cfg.Identity.Interval = time.Minute
	cfg.SystemTables = SystemTablesConfig{
		WarehouseID: "wh-sys", NodeTimeline: true, Billing: true,
		Interval: time.Minute, NodeTimelineWindow: 2 * time.Hour, BillingWindow: 48 * time.Hour,
	}
	return cfg
}

func event(cluster string, at time.Time, typ compute.EventType, details *compute.EventDetails) compute.ClusterEvent {
	return compute.ClusterEvent{ClusterId: cluster, Timestamp: ms(at), Type: typ, Details: details}
}

func finishedRun(id, job int64, start, end time.Time, result jobs.RunResultState) jobs.BaseRun {
	return jobs.BaseRun{
		RunId: id, JobId: job, RunName: "run", StartTime: ms(start), EndTime: ms(end),
		RunDuration: ms(end) - ms(start), QueueDuration: 2000, Trigger: jobs.TriggerTypePeriodic, RunType: jobs.RunTypeJobRun,
		RunPageUrl: "https://dbc-test.cloud.databricks.com/?o=1234567890#job/1/run/1",
		State:      &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: result},
		Tasks:      []jobs.RunTask{{TaskKey: "a"}, {TaskKey: "b"}},
	}
}

// newWorkspaceAtT0 is a small workspace: two clusters (one running, one terminated), two jobs
// with active runs, a warehouse, users/groups/admins and some system-table rows.
func newWorkspaceAtT0() *fakeWorkspace {
	f := newFakeWorkspace()
	f.clusters = []compute.ClusterDetails{
		{
			ClusterId: "c-etl", ClusterName: "etl", State: compute.StateRunning, StartTime: ms(t0.Add(-2 * time.Hour)),
			NumWorkers: 4, Autoscale: &compute.AutoScale{MinWorkers: 2, MaxWorkers: 8},
			Executors:    []compute.SparkNode{{NodeId: "e1"}, {NodeId: "e2"}, {NodeId: "e3"}},
			ClusterCores: 16, ClusterMemoryMb: 65536,
		},
		{
			ClusterId: "c-adhoc", ClusterName: "adhoc", State: compute.StateTerminated,
			StartTime: ms(t0.Add(-5 * time.Hour)), TerminatedTime: ms(t0.Add(-3 * time.Hour)), NumWorkers: 1, ClusterCores: 4, ClusterMemoryMb: 16384,
		},
	}
	f.events["c-etl"] = []compute.ClusterEvent{
		event("c-etl", t0.Add(-2*time.Hour), compute.EventTypeCreating, nil),
		event("c-etl", t0.Add(-110*time.Minute), compute.EventTypeRunning, nil),
	}
	f.events["c-adhoc"] = []compute.ClusterEvent{
		event("c-adhoc", t0.Add(-3*time.Hour), compute.EventTypeTerminating, &compute.EventDetails{
			Reason: &compute.TerminationReason{Code: compute.TerminationReasonCodeInactivity, Type: compute.TerminationReasonTypeSuccess},
		}),
	}
	f.jobs = []jobs.BaseJob{
		{JobId: 11, Settings: &jobs.JobSettings{Name: "nightly-etl"}},
		{JobId: 22, Settings: &jobs.JobSettings{Name: "hourly"}},
	}
	f.runs = []jobs.BaseRun{
		finishedRun(101, 11, t0.Add(-3*time.Hour), t0.Add(-2*time.Hour), jobs.RunResultStateSuccess),
		{RunId: 102, JobId: 11, StartTime: ms(t0.Add(-20 * time.Minute)), Status: &jobs.RunStatus{State: jobs.RunLifecycleStateV2StateRunning}},
		{RunId: 201, JobId: 22, StartTime: ms(t0.Add(-10 * time.Minute)), State: &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateQueued}},
		// A long run that started two days ago: it finishes after T0 and must still be reported.
		{RunId: 50, JobId: 22, StartTime: ms(t0.Add(-48 * time.Hour)), Status: &jobs.RunStatus{State: jobs.RunLifecycleStateV2StateRunning}},
	}
	f.warehouses = []sql.EndpointInfo{{Id: "wh-1", Name: "bi", State: sql.StateRunning, NumClusters: 2, ClusterSize: "Small"}}
	f.users = []iam.User{{Id: "u1", UserName: "alice@corp.com"}, {Id: "u2", UserName: "bob@corp.com"}}
	f.sps = []iam.ServicePrincipal{{Id: "sp1", ApplicationId: "8f1e2d3c-0000-4000-8000-000000000001", DisplayName: "etl-bot"}}
	f.groups = []iam.Group{
		{Id: "g-admins", DisplayName: "admins", Members: []iam.ComplexValue{{Value: "u1", Ref: "Users/u1"}}},
		{Id: "g-eng", DisplayName: "data-eng", Members: []iam.ComplexValue{{Value: "u2", Ref: "Users/u2"}, {Value: "sp1", Ref: "ServicePrincipals/sp1"}}},
	}
	f.nodeRows = []nodeTimelineRow{{
		WorkspaceID: "1234567890", ClusterID: "c-etl", InstanceID: "i-1",
		StartTime: t0.Add(-90 * time.Minute), EndTime: t0.Add(-89 * time.Minute),
		CPUUserPercent: f64(40), CPUSystemPercent: f64(10), CPUWaitPercent: f64(5), MemUsedPercent: f64(60),
		NetworkSentBytes: i64(1000), NetworkReceivedBytes: i64(2000),
		DiskFreeBytesPerMountPoint: map[string]int64{"/": 5_000_000_000, "/local_disk0": 100_000_000_000},
	}}
	f.billingRows = []billingUsageRow{
		{RecordID: "rec-1", WorkspaceID: "1234567890", SKUName: "PREMIUM_ALL_PURPOSE_COMPUTE", BillingOriginProduct: "ALL_PURPOSE", UsageUnit: "DBU",
			UsageStartTime: t0.Add(-5 * time.Hour), UsageEndTime: t0.Add(-4 * time.Hour), UsageQuantity: 3.5},
		{RecordID: "rec-2", WorkspaceID: "1234567890", SKUName: "PREMIUM_JOBS_COMPUTE", BillingOriginProduct: "JOBS", UsageUnit: "DBU",
			UsageStartTime: t0.Add(-5 * time.Hour), UsageEndTime: t0.Add(-4 * time.Hour), UsageQuantity: 1.25},
	}
	return f
}

// advanceOneMinute applies what happens in the workspace between T0 and T0+1m.
func advanceOneMinute(f *fakeWorkspace) {
	f.mu.Lock()
	defer f.mu.Unlock()
	etl := &f.clusters[0]
	etl.State = compute.StateResizing
	etl.Executors = append(etl.Executors, compute.SparkNode{NodeId: "e4"}, compute.SparkNode{NodeId: "e5"})
	f.events["c-etl"] = append(f.events["c-etl"],
		event("c-etl", t0.Add(20*time.Second), compute.EventTypeResizing, &compute.EventDetails{CurrentNumWorkers: 3, TargetNumWorkers: 5, User: "alice@corp.com"}),
		event("c-etl", t0.Add(40*time.Second), compute.EventTypeNodesLost, &compute.EventDetails{CurrentNumWorkers: 4, TargetNumWorkers: 5}),
	)
	// Run 102 fails, 201 starts running, 103 starts and succeeds, 50 (two days old) times out.
	f.runs[1] = finishedRun(102, 11, t0.Add(-20*time.Minute), t0.Add(30*time.Second), jobs.RunResultStateFailed)
	f.runs[1].Status = &jobs.RunStatus{State: jobs.RunLifecycleStateV2StateTerminated, TerminationDetails: &jobs.TerminationDetails{
		Code: jobs.TerminationCodeCodeRunExecutionError, Type: jobs.TerminationTypeTypeClientError, Message: "Task a failed"}}
	f.runs[2].State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning}
	f.runs[3] = finishedRun(50, 22, t0.Add(-48*time.Hour), t0.Add(45*time.Second), jobs.RunResultStateTimedout)
	f.runs = append(f.runs, finishedRun(103, 11, t0.Add(5*time.Second), t0.Add(50*time.Second), jobs.RunResultStateSuccess))
	// bob becomes admin, the service principal leaves data-eng, carol joins the workspace.
	f.users = append(f.users, iam.User{Id: "u3", UserName: "carol@corp.com"})
	f.groups[0].Members = append(f.groups[0].Members, iam.ComplexValue{Value: "u2", Ref: "Users/u2"})
	f.groups[1].Members = f.groups[1].Members[:1]
	// A node-minute that arrived late (older than the previous query), the old row re-read,
	// and a billing retraction for an old window.
	f.nodeRows = append(f.nodeRows, nodeTimelineRow{
		WorkspaceID: "1234567890", ClusterID: "c-etl", InstanceID: "i-2",
		StartTime: t0.Add(-88 * time.Minute), EndTime: t0.Add(-87 * time.Minute),
		CPUUserPercent: f64(80), MemUsedPercent: f64(50), MemSwapPercent: f64(1),
	})
	f.nodeBad = []rowError{{Index: 2, Err: errors.New(`column "start_time": invalid timestamp "yesterday"`)}}
	f.billingRows = append(f.billingRows, billingUsageRow{RecordID: "rec-3", WorkspaceID: "1234567890", SKUName: "PREMIUM_ALL_PURPOSE_COMPUTE",
		BillingOriginProduct: "ALL_PURPOSE", UsageUnit: "DBU", UsageStartTime: t0.Add(-5 * time.Hour), UsageEndTime: t0.Add(-4 * time.Hour), UsageQuantity: -0.5})
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// testScraper builds a scraper like Start does, minus the controller.
type testScraper struct {
	*dbxScraper
	tel   *componenttest.Telemetry
	clock *clock
}

func newTestScraper(t *testing.T, cfg *Config, api workspaceAPI, store storage.Client, logs consumer.Logs, at time.Time, logger *zap.Logger) *testScraper {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	if logger != nil {
		set.Logger = logger
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	require.NoError(t, err)
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set})
	require.NoError(t, err)
	c := &clock{now: at}
	s := newDBXScraper(scraperParams{cfg: cfg, settings: set, api: api, storage: store, logs: logs, obsLogs: obs, telemetry: tb, now: c.Now, runCtx: context.Background()})
	require.NoError(t, s.loadState(context.Background()))
	return &testScraper{dbxScraper: s, tel: tel, clock: c}
}

// scrapeAt scrapes at the given time and, like the controller, hands the metrics to a
// pipeline that accepts them.
func (ts *testScraper) scrapeAt(t *testing.T, at time.Time) pmetric.Metrics {
	t.Helper()
	return ts.scrapeAnswered(t, at, nil)
}

// scrapeAnswered scrapes at the given time; the metrics pipeline answers answer.
func (ts *testScraper) scrapeAnswered(t *testing.T, at time.Time, answer error) pmetric.Metrics {
	t.Helper()
	ts.clock.now = at
	md, err := ts.scrape(context.Background())
	require.NoError(t, err)
	ts.metricsDelivered(context.Background(), answer)
	return md
}

func newLogsSink() *consumertest.LogsSink { return new(consumertest.LogsSink) }

func allLogs(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
					out = append(out, sls.At(j).LogRecords().At(k))
				}
			}
		}
	}
	return out
}
