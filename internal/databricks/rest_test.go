package databricks

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenPages serves items in pages of pageSize under listKey, chaining next_page_token
// like the real list APIs, and records the query of every request.
func tokenPages(t *testing.T, listKey string, items []map[string]any, pageSize int, queries *[]map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := map[string]string{}
		for k := range r.URL.Query() {
			q[k] = r.URL.Query().Get(k)
		}
		*queries = append(*queries, q)
		start := 0
		if tok := r.URL.Query().Get("page_token"); tok != "" {
			n, err := strconv.Atoi(tok[len("tok-"):])
			require.NoError(t, err)
			start = n
		}
		end := min(start+pageSize, len(items))
		resp := map[string]any{listKey: items[start:end]}
		if end < len(items) {
			resp["next_page_token"] = "tok-" + strconv.Itoa(end)
			resp["has_more"] = true
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

func TestListClustersPagesToTheEnd(t *testing.T) {
	fw := newFakeWorkspace(t)
	var items []map[string]any
	for i := range 7 {
		items = append(items, map[string]any{
			"cluster_id": "0101-000000-c" + strconv.Itoa(i), "cluster_name": "etl-" + strconv.Itoa(i),
			"state": "RUNNING", "num_workers": i, "cluster_cores": 8.0, "cluster_memory_mb": 32768,
			"autoscale": map[string]any{"min_workers": 1, "max_workers": 4},
		})
	}
	var queries []map[string]string
	fw.handle("GET /api/2.1/clusters/list", tokenPages(t, "clusters", items, 3, &queries))

	clusters, err := fw.client().ListClusters(context.Background())
	require.NoError(t, err)
	require.Len(t, clusters, 7)
	assert.Equal(t, 3, fw.count("GET /api/2.1/clusters/list"))
	assert.Equal(t, "0101-000000-c6", clusters[6].ClusterId)
	assert.Equal(t, "etl-2", clusters[2].ClusterName)
	assert.Equal(t, compute.StateRunning, clusters[0].State)
	assert.Equal(t, 3, clusters[3].NumWorkers)
	assert.Equal(t, 32768.0, float64(clusters[1].ClusterMemoryMb))
	require.NotNil(t, clusters[0].Autoscale)
	assert.Equal(t, 4, clusters[0].Autoscale.MaxWorkers)
	assert.Equal(t, []map[string]string{
		{"page_size": "100"},
		{"page_size": "100", "page_token": "tok-3"},
		{"page_size": "100", "page_token": "tok-6"},
	}, queries)
}

func TestClusterEventsFollowsLegacyNextPage(t *testing.T) {
	fw := newFakeWorkspace(t)
	all := []map[string]any{
		{"cluster_id": "c1", "timestamp": 1000, "type": "CREATING"},
		{"cluster_id": "c1", "timestamp": 2000, "type": "STARTING"},
		{"cluster_id": "c1", "timestamp": 3000, "type": "RUNNING", "details": map[string]any{"current_num_workers": 2}},
		{"cluster_id": "c1", "timestamp": 4000, "type": "TERMINATING", "details": map[string]any{"reason": map[string]any{"code": "INACTIVITY"}}},
		{"cluster_id": "c1", "timestamp": 5000, "type": "UPSIZE_COMPLETED"},
	}
	fw.handle("POST /api/2.1/clusters/events", func(w http.ResponseWriter, r *http.Request) {
		var req compute.GetEvents
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		assert.Equal(t, "c1", req.ClusterId)
		assert.Equal(t, int64(2000), req.StartTime)
		assert.Equal(t, compute.GetEventsOrderAsc, req.Order)
		var matching []map[string]any
		for _, e := range all {
			if int64(e["timestamp"].(int)) >= req.StartTime {
				matching = append(matching, e)
			}
		}
		const pageLimit = 2 // the server caps below the requested limit
		end := min(int(req.Offset)+pageLimit, len(matching))
		resp := map[string]any{"events": matching[req.Offset:end], "total_count": len(matching)}
		if end < len(matching) {
			next := req
			next.Offset = int64(end)
			resp["next_page"] = next
		}
		writeJSON(w, http.StatusOK, resp)
	})

	events, err := fw.client().ClusterEvents(context.Background(), "c1", 2000)
	require.NoError(t, err)
	require.Len(t, events, 4)
	assert.Equal(t, 2, fw.count("POST /api/2.1/clusters/events"))
	assert.Equal(t, []int64{2000, 3000, 4000, 5000}, []int64{events[0].Timestamp, events[1].Timestamp, events[2].Timestamp, events[3].Timestamp})
	assert.Equal(t, compute.EventTypeRunning, events[1].Type)
	assert.Equal(t, int(2), events[1].Details.CurrentNumWorkers)
	assert.Equal(t, compute.TerminationReasonCode("INACTIVITY"), events[2].Details.Reason.Code)
}

func TestClusterEventsFollowsPageTokenAndRestoresOrder(t *testing.T) {
	fw := newFakeWorkspace(t)
	// A server that ignores order=ASC and start_time, and pages with tokens.
	pages := map[string]map[string]any{
		"": {"events": []map[string]any{
			{"cluster_id": "c2", "timestamp": 9000, "type": "RESIZING"},
			{"cluster_id": "c2", "timestamp": 7000, "type": "RUNNING"},
		}, "next_page_token": "p2"},
		"p2": {"events": []map[string]any{
			{"cluster_id": "c2", "timestamp": 6000, "type": "STARTING"},
			{"cluster_id": "c2", "timestamp": 100, "type": "CREATING"},
		}},
	}
	fw.handle("POST /api/2.1/clusters/events", func(w http.ResponseWriter, r *http.Request) {
		var req compute.GetEvents
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		if req.PageToken != "" {
			assert.Equal(t, 500, req.PageSize)
			assert.Zero(t, req.Limit, "page_token requests must not mix in the legacy limit")
		}
		writeJSON(w, http.StatusOK, pages[req.PageToken])
	})

	events, err := fw.client().ClusterEvents(context.Background(), "c2", 5000)
	require.NoError(t, err)
	require.Len(t, events, 3)
	assert.Equal(t, []compute.EventType{compute.EventTypeStarting, compute.EventTypeRunning, compute.EventTypeResizing},
		[]compute.EventType{events[0].Type, events[1].Type, events[2].Type})
}

func TestClusterEventsRejectsALoopingServer(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("POST /api/2.1/clusters/events", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"events": []any{}, "next_page_token": "same"})
	})
	_, err := fw.client().ClusterEvents(context.Background(), "c3", 0)
	require.ErrorContains(t, err, "POST /api/2.1/clusters/events: server repeated the same next page")
	assert.Equal(t, 2, fw.count("POST /api/2.1/clusters/events"))
}

func TestListJobsAndRunsPageToTheEnd(t *testing.T) {
	fw := newFakeWorkspace(t)
	var jobItems, runItems []map[string]any
	for i := range 5 {
		jobItems = append(jobItems, map[string]any{"job_id": 100 + i, "creator_user_name": "alice@example.com",
			"settings": map[string]any{"name": "job-" + strconv.Itoa(i)}})
	}
	for i := range 4 {
		runItems = append(runItems, map[string]any{"run_id": 900 + i, "job_id": 101, "start_time": 1700000000000 + i,
			"end_time": 1700000060000 + i, "run_page_url": "https://example/run/" + strconv.Itoa(i), "trigger": "PERIODIC",
			"state":  map[string]any{"life_cycle_state": "TERMINATED", "result_state": "FAILED"},
			"status": map[string]any{"state": "TERMINATED", "termination_details": map[string]any{"code": "RUN_EXECUTION_ERROR", "type": "CLIENT_ERROR"}}})
	}
	var jobQueries, runQueries []map[string]string
	fw.handle("GET /api/2.2/jobs/list", tokenPages(t, "jobs", jobItems, 2, &jobQueries))
	fw.handle("GET /api/2.2/jobs/runs/list", tokenPages(t, "runs", runItems, 3, &runQueries))
	c := fw.client()

	gotJobs, err := c.ListJobs(context.Background())
	require.NoError(t, err)
	require.Len(t, gotJobs, 5)
	assert.Equal(t, 3, fw.count("GET /api/2.2/jobs/list"))
	assert.Equal(t, int64(104), gotJobs[4].JobId)
	assert.Equal(t, "job-3", gotJobs[3].Settings.Name)
	assert.Equal(t, "100", jobQueries[0]["limit"])

	runs, err := c.ListRuns(context.Background(), RunsQuery{StartTimeFrom: 1699999999000, StartTimeTo: 1700000100000, CompletedOnly: true, JobID: 101})
	require.NoError(t, err)
	require.Len(t, runs, 4)
	assert.Equal(t, 2, fw.count("GET /api/2.2/jobs/runs/list"))
	assert.Equal(t, int64(903), runs[3].RunId)
	assert.Equal(t, jobs.RunResultStateFailed, runs[0].State.ResultState)
	assert.Equal(t, jobs.TerminationCodeCode("RUN_EXECUTION_ERROR"), runs[0].Status.TerminationDetails.Code)
	assert.Equal(t, jobs.TriggerTypePeriodic, runs[1].Trigger)
	assert.Equal(t, map[string]string{"limit": "25", "start_time_from": "1699999999000", "start_time_to": "1700000100000",
		"completed_only": "true", "job_id": "101"}, runQueries[0])
	assert.Equal(t, "tok-3", runQueries[1]["page_token"])
}

func TestListRunsRejectsContradictoryFilter(t *testing.T) {
	fw := newFakeWorkspace(t)
	_, err := fw.client().ListRuns(context.Background(), RunsQuery{ActiveOnly: true, CompletedOnly: true})
	require.ErrorContains(t, err, "mutually exclusive")
	assert.Zero(t, fw.count("GET /api/2.2/jobs/runs/list"))
}

func TestListWarehouses(t *testing.T) {
	fw := newFakeWorkspace(t)
	items := []map[string]any{
		{"id": "wh1", "name": "audit", "state": "RUNNING", "num_clusters": 2, "max_num_clusters": 4, "health": map[string]any{"status": "HEALTHY"}},
		{"id": "wh2", "name": "bi", "state": "STOPPED", "num_clusters": 0},
		{"id": "wh3", "name": "adhoc", "state": "STARTING", "num_clusters": 1},
	}
	var queries []map[string]string
	fw.handle("GET /api/2.0/sql/warehouses", tokenPages(t, "warehouses", items, 2, &queries))

	whs, err := fw.client().ListWarehouses(context.Background())
	require.NoError(t, err)
	require.Len(t, whs, 3)
	assert.Equal(t, 2, fw.count("GET /api/2.0/sql/warehouses"))
	assert.Equal(t, "wh1", whs[0].Id)
	assert.Equal(t, 2, whs[0].NumClusters)
	assert.Equal(t, "HEALTHY", string(whs[0].Health.Status))
	assert.Equal(t, "STARTING", string(whs[2].State))
	assert.Empty(t, queries[0], "the first request sends no paging parameters")
}

// scimPages serves resources with 1-based startIndex/count, capping the page at pageCap.
func scimPages(t *testing.T, resources []map[string]any, pageCap int, withTotal bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start, err := strconv.Atoi(r.URL.Query().Get("startIndex"))
		require.NoError(t, err)
		count, err := strconv.Atoi(r.URL.Query().Get("count"))
		require.NoError(t, err)
		require.GreaterOrEqual(t, start, 1, "SCIM startIndex is 1-based")
		n := min(count, pageCap)
		from := min(start-1, len(resources))
		to := min(from+n, len(resources))
		resp := map[string]any{
			"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
			"Resources":    resources[from:to],
			"startIndex":   start,
			"itemsPerPage": to - from,
		}
		if withTotal {
			resp["totalResults"] = len(resources)
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

func TestSCIMListsPageWithStartIndex(t *testing.T) {
	users := []map[string]any{}
	for i := range 5 {
		users = append(users, map[string]any{"id": "u" + strconv.Itoa(i), "userName": "user" + strconv.Itoa(i) + "@example.com",
			"active": true, "groups": []map[string]any{{"display": "admins", "value": "g1"}}})
	}
	groups := []map[string]any{
		{"id": "g1", "displayName": "admins", "members": []map[string]any{{"display": "user0@example.com", "value": "u0"}}},
		{"id": "g2", "displayName": "data-eng"},
		{"id": "g3", "displayName": "users"},
	}
	sps := []map[string]any{{"id": "sp1", "applicationId": "6a1f3c2e-0000-4000-8000-000000000001", "displayName": "etl-sp", "active": true}}

	tests := []struct {
		name      string
		withTotal bool
		// pages the client needs: with totalResults it stops on the last page, without
		// it needs one empty page to know it is done.
		wantUserRequests int
	}{
		{"with totalResults", true, 3},
		{"without totalResults", false, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFakeWorkspace(t)
			fw.handle("GET /api/2.0/preview/scim/v2/Users", scimPages(t, users, 2, tt.withTotal))
			fw.handle("GET /api/2.0/preview/scim/v2/Groups", scimPages(t, groups, 2, tt.withTotal))
			fw.handle("GET /api/2.0/preview/scim/v2/ServicePrincipals", scimPages(t, sps, 2, tt.withTotal))
			c := fw.client()

			gotUsers, err := c.ListUsers(context.Background())
			require.NoError(t, err)
			require.Len(t, gotUsers, 5)
			assert.Equal(t, "user4@example.com", gotUsers[4].UserName)
			assert.Equal(t, "admins", gotUsers[0].Groups[0].Display)
			assert.Equal(t, tt.wantUserRequests, fw.count("GET /api/2.0/preview/scim/v2/Users"))

			gotGroups, err := c.ListGroups(context.Background())
			require.NoError(t, err)
			require.Len(t, gotGroups, 3)
			assert.Equal(t, "u0", gotGroups[0].Members[0].Value)
			assert.Equal(t, "users", gotGroups[2].DisplayName)

			gotSPs, err := c.ListServicePrincipals(context.Background())
			require.NoError(t, err)
			require.Len(t, gotSPs, 1)
			assert.Equal(t, "6a1f3c2e-0000-4000-8000-000000000001", gotSPs[0].ApplicationId)
		})
	}
}

func TestSCIMStopsWhenServerIgnoresStartIndex(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.0/preview/scim/v2/Groups", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"Resources": []map[string]any{{"id": "g1"}, {"id": "g2"}}})
	})
	groups, err := fw.client().ListGroups(context.Background())
	require.NoError(t, err)
	assert.Len(t, groups, 2)
	assert.Equal(t, 2, fw.count("GET /api/2.0/preview/scim/v2/Groups"))
}
