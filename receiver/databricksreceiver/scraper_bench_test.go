// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// benchWorkspace: 500 clusters (100 running, 400 terminated), 200 jobs and 10,000 runs over the
// last week, 40 of them active, 20 warehouses, 1,000 users in 50 groups.
func benchWorkspace() *fakeWorkspace {
	f := newFakeWorkspace()
	for i := range 500 {
		id := fmt.Sprintf("c-%03d", i)
		c := compute.ClusterDetails{ClusterId: id, ClusterName: "cluster " + id, NumWorkers: 4, ClusterCores: 16, ClusterMemoryMb: 65536,
			StartTime: ms(t0.Add(-24 * time.Hour))}
		if i < 100 {
			c.State = compute.StateRunning
			c.Executors = make([]compute.SparkNode, 4)
		} else {
			c.State = compute.StateTerminated
			c.TerminatedTime = ms(t0.Add(-12 * time.Hour))
		}
		f.clusters = append(f.clusters, c)
		for e := range 5 {
			f.events[id] = append(f.events[id], event(id, t0.Add(-time.Duration(5-e)*time.Hour), compute.EventTypeRunning, nil))
		}
	}
	for j := range 200 {
		f.jobs = append(f.jobs, jobs.BaseJob{JobId: int64(j + 1), Settings: &jobs.JobSettings{Name: fmt.Sprintf("job-%d", j+1)}})
	}
	week := 7 * 24 * time.Hour
	for r := range 10_000 {
		start := t0.Add(-week + time.Duration(r)*week/10_000)
		run := finishedRun(int64(r+1), int64(r%200+1), start, start.Add(10*time.Minute), jobs.RunResultStateSuccess)
		if r >= 10_000-40 {
			run.EndTime, run.State = 0, &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning}
		}
		f.runs = append(f.runs, run)
	}
	for w := range 20 {
		f.warehouses = append(f.warehouses, sql.EndpointInfo{Id: fmt.Sprintf("wh-%d", w), State: sql.StateRunning, NumClusters: 1})
	}
	for u := range 1000 {
		f.users = append(f.users, iam.User{Id: fmt.Sprintf("u%d", u), UserName: fmt.Sprintf("user%d@corp.com", u)})
	}
	for g := range 50 {
		grp := iam.Group{Id: fmt.Sprintf("g%d", g), DisplayName: fmt.Sprintf("group-%d", g)}
		for u := g; u < 1000; u += 50 {
			grp.Members = append(grp.Members, iam.ComplexValue{Value: fmt.Sprintf("u%d", u)})
		}
		f.groups = append(f.groups, grp)
	}
	return f
}

// BenchmarkScrape measures one steady-state collection cycle (after the first) and reports the
// Databricks API requests it costs, as the real client would page them.
func BenchmarkScrape(b *testing.B) {
	f := benchWorkspace()
	cfg := createDefaultConfig().(*Config)
	cfg.Connection.Endpoint = "https://dbc-bench.cloud.databricks.com"
	set := receivertest.NewNopSettings(metadata.Type)
	tb, _ := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	obs, _ := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, ReceiverCreateSettings: set})
	now := t0
	s := newDBXScraper(scraperParams{cfg: cfg, settings: set, api: f, storage: newMemStorage(), logs: consumertest.NewNop(),
		obsLogs: obs, telemetry: tb, now: func() time.Time { return now }, runCtx: context.Background()})
	if err := s.loadState(context.Background()); err != nil {
		b.Fatal(err)
	}
	if _, err := s.scrape(context.Background()); err != nil { // baseline: first snapshot of everything
		b.Fatal(err)
	}
	s.metricsDelivered(context.Background(), nil)
	before := f.Stats().Requests
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Minute)
		if _, err := s.scrape(context.Background()); err != nil {
			b.Fatal(err)
		}
		s.metricsDelivered(context.Background(), nil)
	}
	b.StopTimer()
	b.ReportMetric(float64(f.Stats().Requests-before)/float64(b.N), "requests/scrape")
}
