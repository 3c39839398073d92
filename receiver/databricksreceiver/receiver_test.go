// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadatatest"
)

type storageExtension struct {
	component.StartFunc
	component.ShutdownFunc
	client storage.Client
}

func (e storageExtension) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return e.client, nil
}

type hostWithExtensions struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h.ext }

// tickedFactory makes receivers that read workspace f and scrape when a time is sent on ticks,
// with that time as their clock (set c.now under f.mu before sending).
func tickedFactory(f *fakeWorkspace) (receiver.Factory, chan time.Time, *clock) {
	ticks := make(chan time.Time)
	c := &clock{now: t0}
	return newFactory(factoryOptions{
		newAPI:   func(*Config, *zap.Logger) (workspaceAPI, error) { return f, nil },
		tickerCh: ticks,
		now:      func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return c.now },
	}), ticks, c
}

// Both pipelines of one configured instance share one poller: one set of API calls per tick
// feeds the metrics and the logs pipeline.
func TestSharedReceiverFeedsBothPipelines(t *testing.T) {
	f := newWorkspaceAtT0()
	factory, ticks, c := tickedFactory(f)
	cfg := testConfig()
	cfg.InitialDelay = 0
	storageID := component.MustNewID("file_storage")
	cfg.StorageID = &storageID
	store := newMemStorage()
	host := hostWithExtensions{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{storageID: storageExtension{client: store}}}

	metricsSink, logsSink := new(consumertest.MetricsSink), new(consumertest.LogsSink)
	set := receivertest.NewNopSettings(metadata.Type)
	mr, err := factory.CreateMetrics(context.Background(), set, cfg, metricsSink)
	require.NoError(t, err)
	lr, err := factory.CreateLogs(context.Background(), set, cfg, logsSink)
	require.NoError(t, err)
	assert.Same(t, mr, lr, "one receiver per configuration")

	require.NoError(t, mr.Start(context.Background(), host))
	require.NoError(t, lr.Start(context.Background(), host))
	require.Eventually(t, func() bool { return len(metricsSink.AllMetrics()) == 1 }, 5*time.Second, 10*time.Millisecond)

	f.mu.Lock()
	c.now = t0.Add(time.Minute)
	f.mu.Unlock()
	advanceOneMinute(f)
	ticks <- t0.Add(time.Minute)
	require.Eventually(t, func() bool { return len(metricsSink.AllMetrics()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 8, logsSink.LogRecordCount(), "2 cluster events + 3 runs + 3 identity changes")
	f.mu.Lock()
	assert.Equal(t, 2, f.calls["ListClusters"], "one list per tick, not one per pipeline")
	f.mu.Unlock()

	require.NoError(t, lr.Shutdown(context.Background()))
	require.NoError(t, mr.Shutdown(context.Background()))
	raw, err := store.Get(context.Background(), stateKeyJobs)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"queried_until":`+itoa(ms(t0.Add(time.Minute))), "cursors were persisted")

	// A fresh receiver for the same config is a new instance (restartable).
	mr2, err := factory.CreateMetrics(context.Background(), set, cfg, metricsSink)
	require.NoError(t, err)
	assert.NotSame(t, mr, mr2)
	require.NoError(t, mr2.Shutdown(context.Background()))
}

func TestStartFailsWithoutStorageExtension(t *testing.T) {
	f := newFakeWorkspace()
	factory := newFactory(factoryOptions{newAPI: func(*Config, *zap.Logger) (workspaceAPI, error) { return f, nil }})
	cfg := testConfig()
	missing := component.MustNewID("file_storage")
	cfg.StorageID = &missing
	r, err := factory.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `storage: extension "file_storage" not found`)
	require.NoError(t, r.Shutdown(context.Background()))
}

var _ extension.Extension = storageExtension{}

// TestAPIErrorsAndRetriesAreCounted: a 500 on cluster reads that the client's retry absorbs
// fails no source and logs nothing, so the error and retry counters are its only trace.
func TestAPIErrorsAndRetriesAreCounted(t *testing.T) {
	world, err := simulator.Build(simulator.DefaultScenario(), simulator.Options{})
	require.NoError(t, err)
	sim := simulator.NewServer(world, simulator.ServerOptions{
		Clock:  func() time.Time { return world.Start.Add(6 * time.Hour) },
		Faults: []simulator.FaultRule{{Path: "/api/2.1/clusters/list", Kind: simulator.Fault500, Count: 1}},
	})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	cfg := testConfig()
	cfg.Connection.Endpoint = srv.URL
	cfg.Connection.Token = configopaque.String(sim.Token())
	cfg.Connection.MaxRequestsPerSecond = 1000
	cfg.SystemTables = SystemTablesConfig{} // REST only: no statements to wait for
	cfg.InitialDelay = 0
	cfg.CollectionInterval = time.Hour
	factory := newFactory(factoryOptions{newAPI: func(cfg *Config, logger *zap.Logger) (workspaceAPI, error) {
		c, err := databricks.New(cfg.Connection, logger, databricks.WithRetryPolicy(databricks.RetryPolicy{
			InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, Multiplier: 1, MaxElapsedTime: time.Minute,
		}))
		if err != nil {
			return nil, err
		}
		return clientAdapter{Client: c}, nil
	}})
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	sink := new(consumertest.MetricsSink)
	r, err := factory.CreateMetrics(context.Background(), metadatatest.NewSettings(tt), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) == 1 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, int64(1), sim.Stats().Faults["500"], "the fault was served")
	require.True(t, hasMetric(sink.AllMetrics()[0], "databricks.cluster.state"), "the retry recovered the cluster list")

	class := func(c string) attribute.Set { return attribute.NewSet(attribute.String("class", c)) }
	metadatatest.AssertEqualDatabricksAPIErrors(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: class("4xx"), Value: 0},
		{Attributes: class("5xx"), Value: 1},
		{Attributes: class("network"), Value: 0},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDatabricksAPIRetries(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: class("4xx"), Value: 0},
		{Attributes: class("5xx"), Value: 1},
		{Attributes: class("network"), Value: 0},
	}, metricdatatest.IgnoreTimestamp())
	_, err = tt.GetMetric("otelcol_databricks_source_failures")
	assert.Error(t, err, "no source failed: the retry absorbed the 500")
}

// refusingOnce refuses the first batch, like a memory_limiter under pressure, and keeps the rest.
type refusingOnce struct {
	consumertest.MetricsSink
	mu      sync.Mutex
	refused int
}

func (r *refusingOnce) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	r.mu.Lock()
	first := r.refused == 0
	if first {
		r.refused++
	}
	r.mu.Unlock()
	if first {
		return errors.New("data refused due to high memory usage")
	}
	return r.MetricsSink.ConsumeMetrics(ctx, md)
}

// Through the scraper controller: the billing rows of a refused scrape arrive with the next
// accepted one, and only then.
func TestReceiverOffersRefusedBillingRowsAgain(t *testing.T) {
	f := newWorkspaceAtT0()
	factory, ticks, c := tickedFactory(f)
	cfg := testConfig()
	cfg.InitialDelay = 0
	sink := &refusingOnce{}
	mr, err := factory.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, mr.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, mr.Shutdown(context.Background())) })
	billing := func(i int) map[string]float64 {
		return pointValues(findPoints(sink.AllMetrics()[i], "databricks.workspace.id", "1234567890", "databricks.billing.usage"), "sku")
	}
	tick := func(at time.Time, want int) {
		f.mu.Lock()
		c.now = at
		f.mu.Unlock()
		ticks <- at
		require.Eventually(t, func() bool { return len(sink.AllMetrics()) == want }, 5*time.Second, 10*time.Millisecond)
	}

	require.Eventually(t, func() bool { sink.mu.Lock(); defer sink.mu.Unlock(); return sink.refused == 1 }, 5*time.Second, 10*time.Millisecond)
	tick(t0.Add(time.Minute), 1)
	assert.Equal(t, map[string]float64{"PREMIUM_ALL_PURPOSE_COMPUTE": 3.5, "PREMIUM_JOBS_COMPUTE": 1.25}, billing(0), "the refused rows, offered again")
	tick(t0.Add(2*time.Minute), 2)
	assert.Empty(t, billing(1), "and reported once")
}
