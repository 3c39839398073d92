package simulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var benchWorld = sync.OnceValues(func() (*World, error) {
	s, err := LoadScenario("../../configs/sim/bench.yaml")
	if err != nil {
		return nil, err
	}
	return Build(s, Options{Rate: 0.5}) // the API scale is the point here, not the audit volume
})

// bench.yaml must serve 500 clusters and 10,000 runs quickly. Lists are paged with plain HTTP:
// decoding thousands of objects with the SDK's reflective decoder is the client's cost, not
// the simulator's; the SDK reads the first page of each to prove the shapes.
func TestBenchScaleServable(t *testing.T) {
	world, err := benchWorld()
	require.NoError(t, err)
	sim, hs := startServer(t, world, ServerOptions{})
	start := time.Now()
	count := func(path, field string) int {
		n, token := 0, ""
		for pages := 0; pages < 1000; pages++ {
			// In-process requests: the point is the handler's cost, not the loopback's.
			req := httptest.NewRequest(http.MethodGet, path+"&page_token="+token, nil)
			req.Header.Set("Authorization", "Bearer "+sim.Token())
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
			var page map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
			var items []json.RawMessage
			require.NoError(t, json.Unmarshal(page[field], &items))
			n += len(items)
			token = ""
			if raw, ok := page["next_page_token"]; ok {
				require.NoError(t, json.Unmarshal(raw, &token))
			}
			if token == "" {
				break
			}
		}
		return n
	}
	assert.Equal(t, 500, count("/api/2.1/clusters/list?page_size=100", "clusters"))
	assert.GreaterOrEqual(t, count("/api/2.2/jobs/runs/list?limit=25", "runs"), 10000)
	t.Logf("paged 500 clusters and %d runs in %s", len(world.Workspace.Runs), time.Since(start))

	w := sdkClient(t, hs.URL, sim.Token())
	ctx := context.Background()
	firstRun, err := w.Jobs.ListRuns(ctx, jobs.ListRunsRequest{Limit: 25}).Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, world.Workspace.Runs[0].RunID, firstRun.RunId)
	firstCluster, err := w.Clusters.List(ctx, compute.ListClustersRequest{PageSize: 10}).Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, world.Workspace.Clusters[0].ID, firstCluster.ClusterId)
}

func BenchmarkListRunsPage(b *testing.B) {
	world, err := benchWorld()
	require.NoError(b, err)
	sim, hs := startServer(b, world, ServerOptions{})
	w := sdkClient(b, hs.URL, sim.Token())
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := w.Jobs.ListRuns(ctx, jobs.ListRunsRequest{Limit: 25})
		for n := 0; n < 25 && it.HasNext(ctx); n++ {
			if _, err := it.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkBuildAttacksScenario(b *testing.B) {
	s, err := LoadScenario("../../configs/sim/attacks.yaml")
	require.NoError(b, err)
	for i := 0; i < b.N; i++ {
		if _, err := Build(s, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
