package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/listing"
	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The receivers reach the simulator through databricks-sdk-go with only the host changed, so
// every endpoint is exercised through the SDK's own clients and types, paging to the end.
func TestSDKCompatibility(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	now := mid(world)
	sim, hs := startServer(t, world, ServerOptions{PageSize: 2, ChunkRows: 7, Clock: func() time.Time { return now }})
	w := sdkClient(t, hs.URL, sim.Token())
	ctx := context.Background()

	t.Run("clusters list pages with page tokens", func(t *testing.T) {
		got, err := w.Clusters.ListAll(ctx, compute.ListClustersRequest{})
		require.NoError(t, err)
		require.Len(t, got, len(world.Workspace.Clusters))
		for i, c := range got {
			assert.Equal(t, world.Workspace.Clusters[i].ID, c.ClusterId)
			assert.NotEmpty(t, c.State)
			assert.Equal(t, world.Workspace.Clusters[i].Name, c.ClusterName)
		}
		one, err := w.Clusters.GetByClusterId(ctx, got[1].ClusterId)
		require.NoError(t, err)
		assert.Equal(t, got[1].State, one.State)
		assert.Equal(t, got[1].NumWorkers, one.NumWorkers)
	})

	t.Run("cluster events follow the legacy next_page object", func(t *testing.T) {
		c := world.Workspace.Clusters[0]
		var want []int64
		for _, e := range c.Events {
			if e.Timestamp <= now.UnixMilli() {
				want = append(want, e.Timestamp)
			}
		}
		require.Greater(t, len(want), 3)
		it := w.Clusters.Events(ctx, compute.GetEvents{ClusterId: c.ID, Limit: 2, Order: compute.GetEventsOrderAsc})
		got, err := listing.ToSlice(ctx, it)
		require.NoError(t, err)
		require.Len(t, got, len(want))
		for i, e := range got {
			assert.Equal(t, want[i], e.Timestamp)
			assert.Equal(t, c.ID, e.ClusterId)
		}
		// Default order is newest first.
		desc, err := listing.ToSlice(ctx, w.Clusters.Events(ctx, compute.GetEvents{ClusterId: c.ID, Limit: 3}))
		require.NoError(t, err)
		assert.Equal(t, want[len(want)-1], desc[0].Timestamp)
	})

	t.Run("cluster events page with page_token", func(t *testing.T) {
		c := world.Workspace.Clusters[0]
		all, err := listing.ToSlice(ctx, w.Clusters.Events(ctx, compute.GetEvents{ClusterId: c.ID, Limit: 500}))
		require.NoError(t, err)
		var got []compute.ClusterEvent
		req := compute.GetEvents{ClusterId: c.ID, PageSize: 2}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 100)
			var resp compute.GetEventsResponse
			postJSON(t, hs.URL+"/api/2.1/clusters/events", sim.Token(), req, &resp)
			got = append(got, resp.Events...)
			if resp.NextPageToken == "" {
				break
			}
			req.PageToken = resp.NextPageToken
		}
		assert.Equal(t, all, got)
	})

	t.Run("jobs and runs", func(t *testing.T) {
		js, err := w.Jobs.ListAll(ctx, jobs.ListJobsRequest{Limit: 2})
		require.NoError(t, err)
		require.Len(t, js, len(world.Workspace.Jobs))
		assert.NotEmpty(t, js[0].Settings.Schedule.QuartzCronExpression)
		runs, err := w.Jobs.ListRunsAll(ctx, jobs.ListRunsRequest{Limit: 3})
		require.NoError(t, err)
		want := 0
		results := map[jobs.RunResultState]int{}
		for _, r := range world.Workspace.Runs {
			if !r.Start.After(now) {
				want++
			}
		}
		require.Len(t, runs, want)
		for i, r := range runs {
			if i > 0 {
				assert.LessOrEqual(t, r.StartTime, runs[i-1].StartTime, "newest first")
			}
			if r.EndTime > 0 {
				results[r.State.ResultState]++
				assert.Equal(t, jobs.RunLifecycleStateV2StateTerminated, r.Status.State)
			}
		}
		assert.Greater(t, results[jobs.RunResultStateSuccess], 0)
		active, err := w.Jobs.ListRunsAll(ctx, jobs.ListRunsRequest{ActiveOnly: true})
		require.NoError(t, err)
		for _, r := range active {
			assert.Zero(t, r.EndTime)
			assert.Equal(t, jobs.RunLifeCycleStateRunning, r.State.LifeCycleState)
		}
		oneJob, err := w.Jobs.ListRunsAll(ctx, jobs.ListRunsRequest{JobId: js[0].JobId})
		require.NoError(t, err)
		for _, r := range oneJob {
			assert.Equal(t, js[0].JobId, r.JobId)
		}
	})

	t.Run("warehouses", func(t *testing.T) {
		whs, err := w.Warehouses.ListAll(ctx, sql.ListWarehousesRequest{})
		require.NoError(t, err)
		require.Len(t, whs, 2)
		one, err := w.Warehouses.GetById(ctx, whs[0].Id)
		require.NoError(t, err)
		assert.Equal(t, whs[0].Name, one.Name)
		assert.Equal(t, whs[0].State, one.State)
	})

	t.Run("SCIM pages with startIndex and count", func(t *testing.T) {
		users, err := w.Users.ListAll(ctx, iam.ListUsersRequest{})
		require.NoError(t, err)
		require.Len(t, users, len(world.Population.Users))
		emails := map[string]bool{}
		for _, u := range users {
			emails[u.UserName] = true
		}
		for _, u := range world.Population.Users {
			assert.True(t, emails[u.Email], u.Email)
		}
		groups, err := w.Groups.ListAll(ctx, iam.ListGroupsRequest{})
		require.NoError(t, err)
		var names []string
		for _, g := range groups {
			names = append(names, g.DisplayName)
		}
		assert.Contains(t, names, "admins")
		sps, err := w.ServicePrincipals.ListAll(ctx, iam.ListServicePrincipalsRequest{})
		require.NoError(t, err)
		require.Len(t, sps, 2)
		assert.Equal(t, world.Population.ServicePrincipals[0].ApplicationID, sps[0].ApplicationId)
	})

	t.Run("statement execution with chunks", func(t *testing.T) {
		resp, err := w.StatementExecution.ExecuteStatement(ctx, sql.ExecuteStatementRequest{
			WarehouseId: world.Workspace.Warehouses[0].ID,
			Statement:   "SELECT event_id, event_time, user_identity.email AS email FROM system.access.audit WHERE event_time >= :since AND event_time < :until ORDER BY event_time LIMIT 20",
			Parameters: []sql.StatementParameterListItem{{Name: "since", Value: world.Start.Format(time.RFC3339), Type: "TIMESTAMP"},
				{Name: "until", Value: now.Format(time.RFC3339), Type: "TIMESTAMP"}},
		})
		require.NoError(t, err)
		require.Equal(t, sql.StatementStateSucceeded, resp.Status.State)
		require.Equal(t, 3, resp.Manifest.TotalChunkCount)
		assert.Equal(t, int64(20), resp.Manifest.TotalRowCount)
		assert.Equal(t, []string{"event_id", "event_time", "email"}, []string{resp.Manifest.Schema.Columns[0].Name, resp.Manifest.Schema.Columns[1].Name, resp.Manifest.Schema.Columns[2].Name})
		rows := resp.Result.DataArray
		for c := 1; c < resp.Manifest.TotalChunkCount; c++ {
			chunk, err := w.StatementExecution.GetStatementResultChunkNByStatementIdAndChunkIndex(ctx, resp.StatementId, c)
			require.NoError(t, err)
			assert.Equal(t, int64(c*7), chunk.RowOffset)
			rows = append(rows, chunk.DataArray...)
		}
		require.Len(t, rows, 20)
		for i, r := range rows {
			assert.Equal(t, world.Events[i].EventID, r[0])
			assert.Equal(t, world.Events[i].Time.Format("2006-01-02T15:04:05.000Z"), r[1])
			assert.Equal(t, world.Events[i].Email, r[2])
		}
		got, err := w.StatementExecution.GetStatementByStatementId(ctx, resp.StatementId)
		require.NoError(t, err)
		assert.Equal(t, sql.StatementStateSucceeded, got.Status.State)
	})

	t.Run("wrong token is a 401 API error", func(t *testing.T) {
		bad := sdkClient(t, hs.URL, "dapi-wrong")
		_, err := bad.Clusters.ListAll(ctx, compute.ListClustersRequest{})
		var apiErr *apierr.APIError
		require.True(t, errors.As(err, &apiErr), "%v", err)
		assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
		assert.Equal(t, "UNAUTHENTICATED", apiErr.ErrorCode)
	})
}

func TestOAuthM2M(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	sim, hs := startServer(t, world, ServerOptions{ClientID: "sp-id", ClientSecret: "sp-secret"})
	w, err := databricks.NewWorkspaceClient(&databricks.Config{Host: hs.URL, ClientID: "sp-id", ClientSecret: "sp-secret",
		AuthType: "oauth-m2m", RateLimitPerSecond: 1000, RetryTimeoutSeconds: 5})
	require.NoError(t, err)
	clusters, err := w.Clusters.ListAll(context.Background(), compute.ListClustersRequest{})
	require.NoError(t, err)
	assert.Len(t, clusters, len(world.Workspace.Clusters))
	assert.GreaterOrEqual(t, sim.Stats().TokensIssued, int64(1))

	_, err = databricks.NewWorkspaceClient(&databricks.Config{Host: hs.URL, ClientID: "sp-id", ClientSecret: "wrong",
		AuthType: "oauth-m2m", RateLimitPerSecond: 1000, RetryTimeoutSeconds: 2})
	if err == nil {
		bad, _ := databricks.NewWorkspaceClient(&databricks.Config{Host: hs.URL, ClientID: "sp-id", ClientSecret: "wrong",
			AuthType: "oauth-m2m", RateLimitPerSecond: 1000, RetryTimeoutSeconds: 2})
		_, err = bad.Clusters.ListAll(context.Background(), compute.ListClustersRequest{})
	}
	require.Error(t, err, "a wrong client secret must not get a token")
}

func postJSON(t testing.TB, url, token string, body, out any) int {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

// The hand-written run encoding must stay byte-for-byte what the SDK type encodes to.
func TestRunWireMatchesSDKEncoding(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	now := mid(world)
	seen := map[string]bool{}
	for _, r := range world.Workspace.Runs {
		b, ok := world.Workspace.runAt(r, now)
		if !ok {
			continue
		}
		sdk, err := json.Marshal(b)
		require.NoError(t, err)
		mine, err := json.Marshal(toRunWire(b))
		require.NoError(t, err)
		assert.JSONEq(t, string(sdk), string(mine))
		seen[string(b.State.LifeCycleState)+"/"+string(b.State.ResultState)] = true
	}
	assert.True(t, seen["RUNNING/"] || len(seen) > 1, "running and finished runs are compared: %v", seen)
	assert.True(t, seen["TERMINATED/SUCCESS"], "%v", seen)
}
