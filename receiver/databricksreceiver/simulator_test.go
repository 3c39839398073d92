// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// simClock is the simulated "now" shared by the simulator and the scraper.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestAgainstSimulator runs the receiver through the real client (internal/databricks, on
// databricks-sdk-go) against the workspace simulator's REST, SCIM and SQL APIs.
func TestAgainstSimulator(t *testing.T) {
	world, err := simulator.Build(simulator.DefaultScenario(), simulator.Options{})
	require.NoError(t, err)
	clk := &simClock{now: world.Start.Add(6 * time.Hour)}
	sim := simulator.NewServer(world, simulator.ServerOptions{Clock: clk.Now, StatementLatency: -1})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	cfg := testConfig()
	cfg.Connection.Endpoint = srv.URL
	cfg.Connection.Token = configopaque.String(sim.Token())
	cfg.Identity.Interval = time.Hour
	cfg.SystemTables.WarehouseID = world.Workspace.Warehouses[0].ID
	api, err := newClientAPI(cfg, zap.NewNop())
	require.NoError(t, err)

	store := newMemStorage()
	sink := newLogsSink()
	s := newTestScraper(t, cfg, api, store, sink, clk.Now(), nil)
	s.now = clk.Now
	md, err := s.scrape(t.Context())
	require.NoError(t, err)
	for _, name := range []string{"databricks.cluster.state", "databricks.cluster.workers", "databricks.warehouse.state", "databricks.identity.principals"} {
		assert.True(t, hasMetric(md, name), name)
	}
	assert.Empty(t, s.failures.active, "no source failed")
	assert.Empty(t, allLogs(sink), "first scrape is a baseline")
	// The workspace id comes from the workspace itself (SCIM Me), as the simulator's host name
	// carries none.
	require.Positive(t, md.ResourceMetrics().Len())
	wsID, ok := md.ResourceMetrics().At(0).Resource().Attributes().Get("databricks.workspace.id")
	require.True(t, ok, "databricks.workspace.id resource attribute")
	assert.Equal(t, world.Scenario.Workspace.ID, wsID.Str())

	// Six simulated hours later: clusters have changed state and runs have finished.
	clk.set(clk.Now().Add(6 * time.Hour))
	md, err = s.scrape(t.Context())
	require.NoError(t, err)
	assert.Empty(t, s.failures.active, "no source failed")
	got := eventNames(sink)
	assert.Positive(t, got[eventClusterEvent], "cluster events emitted")
	assert.Positive(t, got[eventJobRun], "finished runs emitted")
	assert.True(t, hasMetric(md, "databricks.job.runs"))
	assert.True(t, hasMetric(md, "databricks.job.run.duration"))
	assert.True(t, hasMetric(md, "databricks.node.cpu.utilization"), "node_timeline read through the Statement Execution API")
	assert.True(t, hasMetric(md, "databricks.billing.usage"), "billing usage read through the Statement Execution API")

	// A restart on the same storage at the same simulated time re-emits nothing.
	sink2 := newLogsSink()
	s2 := newTestScraper(t, cfg, api, store, sink2, clk.Now(), nil)
	s2.now = clk.Now
	_, err = s2.scrape(t.Context())
	require.NoError(t, err)
	assert.Empty(t, eventNames(sink2))
	t.Logf("simulator run: %v log records; %d requests", got, api.Stats().Requests)
}
