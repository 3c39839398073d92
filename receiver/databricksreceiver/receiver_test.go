// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
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

// Both pipelines of one configured instance share one poller: one set of API calls per tick
// feeds the metrics and the logs pipeline.
func TestSharedReceiverFeedsBothPipelines(t *testing.T) {
	f := newWorkspaceAtT0()
	ticks := make(chan time.Time)
	c := &clock{now: t0}
	factory := newFactory(factoryOptions{
		newAPI:   func(*Config, *zap.Logger) (workspaceAPI, error) { return f, nil },
		tickerCh: ticks,
		now:      func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return c.now },
	})
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
