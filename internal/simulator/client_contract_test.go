package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"

	dbclient "github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// The project's own client (internal/databricks, the receivers' only way in) reads everything
// the simulator serves, through the binding client API only.
func TestProjectClientAgainstSimulator(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	now := mid(world)
	sim, hs := startServer(t, world, ServerOptions{PageSize: 3, ChunkRows: 50, Clock: func() time.Time { return now },
		Faults: []FaultRule{{Path: "/api/2.0/sql/statements", Kind: Fault503, Count: 1}}})
	cfg := dbclient.NewDefaultClientConfig()
	cfg.Endpoint = hs.URL
	cfg.Token = configopaque.String(sim.Token())
	cfg.MaxRequestsPerSecond = 1000
	c, err := dbclient.New(cfg, zap.NewNop())
	require.NoError(t, err)
	ctx := context.Background()

	clusters, err := c.ListClusters(ctx)
	require.NoError(t, err)
	assert.Len(t, clusters, len(world.Workspace.Clusters))
	events, err := c.ClusterEvents(ctx, clusters[0].ClusterId, world.Start.UnixMilli())
	require.NoError(t, err)
	require.NotEmpty(t, events)
	for i := 1; i < len(events); i++ {
		assert.LessOrEqual(t, events[i-1].Timestamp, events[i].Timestamp, "oldest first")
	}
	js, err := c.ListJobs(ctx)
	require.NoError(t, err)
	assert.Len(t, js, len(world.Workspace.Jobs))
	runs, err := c.ListRuns(ctx, dbclient.RunsQuery{StartTimeFrom: world.Start.UnixMilli()})
	require.NoError(t, err)
	assert.NotEmpty(t, runs)
	whs, err := c.ListWarehouses(ctx)
	require.NoError(t, err)
	assert.Len(t, whs, len(world.Workspace.Warehouses))
	users, err := c.ListUsers(ctx)
	require.NoError(t, err)
	assert.Len(t, users, len(world.Population.Users))
	workspaceID, err := c.WorkspaceID(ctx)
	require.NoError(t, err)
	assert.Equal(t, world.Scenario.Workspace.ID, workspaceID)

	// The audit window comes back complete, decoded, in order, despite a 503 on the first try.
	from, to := world.Start.Add(9*time.Hour), world.Start.Add(11*time.Hour)
	var want []AuditEvent
	for _, e := range world.Events {
		if !e.Time.Before(from) && e.Time.Before(to) {
			want = append(want, e)
		}
	}
	var got []dbclient.AuditRow
	err = c.QueryAudit(ctx, dbclient.AuditQuery{WarehouseID: world.Workspace.Warehouses[0].ID, From: from, To: to},
		func(rows []dbclient.AuditRow, bad []dbclient.RowError) error {
			assert.Empty(t, bad)
			got = append(got, rows...)
			return nil
		})
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i, r := range got {
		e := want[i]
		assert.Equal(t, e.EventID, r.EventID)
		assert.True(t, e.Time.Equal(r.EventTime), "%s vs %s", e.Time, r.EventTime)
		assert.Equal(t, e.Email, r.UserIdentity.Email)
		assert.Equal(t, e.ActionName, r.ActionName)
		assert.Equal(t, e.RequestParams, r.RequestParams)
		require.NotNil(t, r.Response.StatusCode)
		assert.Equal(t, e.StatusCode, *r.Response.StatusCode)
	}
	assert.Equal(t, int64(1), sim.Stats().Faults["503"])

	var nodes, usage int
	require.NoError(t, c.QueryNodeTimeline(ctx, dbclient.TimelineQuery{WarehouseID: world.Workspace.Warehouses[0].ID, From: from, To: from.Add(10 * time.Minute)},
		func(rows []dbclient.NodeTimelineRow, bad []dbclient.RowError) error {
			assert.Empty(t, bad)
			nodes += len(rows)
			return nil
		}))
	require.NoError(t, c.QueryBillingUsage(ctx, dbclient.TimelineQuery{WarehouseID: world.Workspace.Warehouses[0].ID, From: world.Start, To: to},
		func(rows []dbclient.BillingUsageRow, bad []dbclient.RowError) error {
			assert.Empty(t, bad)
			usage += len(rows)
			return nil
		}))
	assert.Positive(t, nodes)
	assert.Positive(t, usage)
}
