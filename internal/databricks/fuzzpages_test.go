package databricks

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
)

// The fuzzers below feed whole API answers, as a server could send them, through the code
// that turns them into records: decodeBody (the one JSON decoder of every answer) and the
// paging of each list. Up to three pages are fuzzed; a request beyond them gets an empty
// answer, as the end of a listing.

func FuzzSCIMPages(f *testing.F) {
	f.Add(uint8(0),
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"startIndex":1,"itemsPerPage":2,"Resources":[{"id":"u1","userName":"ana@example.com","active":true,"emails":[{"value":"ana@example.com","primary":true}]},{"id":"u2","userName":"bo@example.com","groups":[{"value":"g1","display":"admins"}]}]}`,
		`{"totalResults":3,"startIndex":3,"itemsPerPage":1,"Resources":[{"id":"u3","userName":"cy@example.com","entitlements":[{"value":"workspace-access"}]}]}`,
		`{"totalResults":3,"Resources":[]}`)
	// A server that ignores startIndex repeats its first page.
	f.Add(uint8(1),
		`{"Resources":[{"id":"g1","displayName":"admins","members":[{"value":"u1","display":"ana","$ref":"Users/u1"}]}]}`,
		`{"Resources":[{"id":"g1","displayName":"admins"}]}`,
		`{"Resources":[{"id":"g2","displayName":"never read"}]}`)
	f.Add(uint8(2),
		`{"totalResults":2,"Resources":[{"id":"sp1","applicationId":"00000000-1111-2222-3333-444444444444","displayName":"etl"}]}`,
		`{"Resources":null}`, `not json`)
	f.Add(uint8(0), `{"totalResults":"2","Resources":[{"id":"u1"}]}`, ``, ``)
	f.Add(uint8(0), `{"totalResults":-1,"Resources":[{"id":""},{"id":""},{}]}`, `{"Resources":[{"id":"u9","active":"yes"}]}`, `{"totalResults":1e400}`)
	f.Add(uint8(1), `{"Resources":[{"id":"g1","members":{"value":"u1"}}]}`, `[]`, `null`)
	f.Fuzz(func(t *testing.T, kind uint8, page1, page2, page3 string) {
		bodies := []string{page1, page2, page3}
		switch kind % 3 {
		case 0:
			checkSCIMPages(t, pathSCIMUsers, bodies, func(u iam.User) string { return u.Id }, usersPage)
		case 1:
			checkSCIMPages(t, pathSCIMGroups, bodies, func(g iam.Group) string { return g.Id }, groupsPage)
		default:
			checkSCIMPages(t, pathSCIMServicePrincipals, bodies, func(sp iam.ServicePrincipal) string { return sp.Id }, servicePrincipalsPage)
		}
	})
}

// checkSCIMPages lists bodies as ListUsers/ListGroups/ListServicePrincipals would and checks
// that the result is exactly the resources of the pages read, first occurrence of each id,
// in order; or, when a page is not valid JSON, an error naming the endpoint and no list.
func checkSCIMPages[T any, R any](t *testing.T, path string, bodies []string, id func(T) string, view func(*R) scimPage[T]) {
	var want []T
	seen := map[string]bool{}
	wantStart, calls := int64(1), 0
	malformed := false
	got, err := collectSCIMPages(context.Background(), id, func(_ context.Context, query map[string]any) (scimPage[T], error) {
		if query["startIndex"] != wantStart || query["count"] != scimPageSize {
			t.Fatalf("request %d: startIndex %v, count %v; want %d, %d", calls+1, query["startIndex"], query["count"], wantStart, scimPageSize)
		}
		calls++
		if calls > len(bodies) {
			return scimPage[T]{}, nil
		}
		var resp R
		if err := decodeBody(http.MethodGet, path, []byte(bodies[calls-1]), &resp); err != nil {
			malformed = true
			return scimPage[T]{}, err
		}
		page := view(&resp)
		for _, r := range page.resources {
			if !seen[id(r)] {
				seen[id(r)] = true
				want = append(want, r)
			}
		}
		wantStart += int64(len(page.resources))
		return page, nil
	})
	if calls > len(bodies)+1 {
		t.Fatalf("%d requests for %d pages", calls, len(bodies))
	}
	if malformed {
		if err == nil || got != nil {
			t.Fatalf("a malformed page must fail the whole listing: got %d records, err %v", len(got), err)
		}
		if !strings.HasPrefix(err.Error(), "GET "+path+": malformed JSON response") {
			t.Fatalf("error does not name the endpoint: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if id(got[i]) != id(want[i]) {
			t.Fatalf("record %d: id %q, want %q", i, id(got[i]), id(want[i]))
		}
	}
}

func FuzzClusterEventsPages(f *testing.F) {
	f.Add(int64(1000),
		`{"events":[{"cluster_id":"c1","timestamp":1000,"type":"CREATING"},{"cluster_id":"c1","timestamp":1500,"type":"RUNNING","details":{"current_num_workers":2}}],"next_page":{"cluster_id":"c1","start_time":1000,"offset":2,"limit":500,"order":"ASC"},"total_count":3}`,
		`{"events":[{"cluster_id":"c1","timestamp":1200,"type":"RESIZING"}],"total_count":3}`, ``)
	f.Add(int64(0),
		`{"events":[{"timestamp":5,"type":"NODES_LOST"}],"next_page_token":"t1"}`,
		`{"events":[{"timestamp":3,"type":"TERMINATING"}],"next_page_token":"t2","prev_page_token":"t1"}`,
		`{"events":[{"timestamp":9}],"next_page_token":"t1"}`)
	// The server repeats the same next page.
	f.Add(int64(0), `{"events":[],"next_page":{"offset":500}}`, `{"events":[],"next_page":{"offset":500}}`, ``)
	f.Add(int64(-1), `{"events":[{"timestamp":"12"}]}`, ``, ``)
	f.Add(int64(9223372036854775807), `{"events":[{"timestamp":9223372036854775807},{"timestamp":-9223372036854775808}]}`, ``, ``)
	f.Fuzz(func(t *testing.T, start int64, page1, page2, page3 string) {
		bodies := []string{page1, page2, page3}
		var served []compute.ClusterEvent
		calls := 0
		malformed := false
		got, err := collectClusterEvents(context.Background(), "c1", start, func(_ context.Context, req compute.GetEvents) (compute.GetEventsResponse, error) {
			calls++
			if req.ClusterId == "" {
				t.Fatalf("request %d names no cluster: %+v", calls, req)
			}
			if calls > len(bodies) {
				return compute.GetEventsResponse{}, nil
			}
			var page compute.GetEventsResponse
			if err := decodeBody(http.MethodPost, pathClustersEvents, []byte(bodies[calls-1]), &page); err != nil {
				malformed = true
				return page, err
			}
			served = append(served, page.Events...)
			return page, nil
		})
		if calls > len(bodies)+1 {
			t.Fatalf("%d requests for %d pages", calls, len(bodies))
		}
		if err != nil {
			if got != nil {
				t.Fatalf("a failed listing returned %d events", len(got))
			}
			if !malformed && !strings.Contains(err.Error(), "server repeated the same next page") {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		want := 0
		for _, e := range served {
			if e.Timestamp >= start {
				want++
			}
		}
		if len(got) != want {
			t.Fatalf("got %d events, want the %d of %d at or after %d", len(got), want, len(served), start)
		}
		for i, e := range got {
			if e.Timestamp < start || (i > 0 && got[i-1].Timestamp > e.Timestamp) {
				t.Fatalf("event %d (timestamp %d) out of order or before %d", i, e.Timestamp, start)
			}
		}
	})
}

func FuzzJobRunsPages(f *testing.F) {
	f.Add(`{"runs":[{"run_id":11,"job_id":1,"start_time":1700000000000,"state":{"life_cycle_state":"TERMINATED","result_state":"SUCCESS"}}],"has_more":true,"next_page_token":"p2"}`,
		`{"runs":[{"run_id":12,"job_id":1,"state":{"life_cycle_state":"RUNNING"},"tasks":[{"task_key":"t","run_id":13}]}],"has_more":false}`, ``)
	f.Add(`{"runs":[],"next_page_token":"p2"}`, `{"runs":[{"run_id":1}],"next_page_token":"p2"}`, `{"runs":[{"run_id":2}]}`)
	f.Add(`{"runs":[{"run_id":"11"}]}`, ``, ``)
	f.Add(`{"runs":[{"run_id":1e3,"state":{"result_state":"NOPE"}}],"next_page_token":""}`, ``, ``)
	f.Add(`{"runs":null,"next_page_token":"a"}`, `{"next_page_token":"b"}`, `{"runs":[{}],"next_page_token":"c"}`)
	f.Fuzz(func(t *testing.T, page1, page2, page3 string) {
		bodies := []string{page1, page2, page3}
		var served []jobs.BaseRun
		wantToken, calls := "", 0
		malformed := false
		got, err := collectTokenPages(context.Background(), http.MethodGet+" "+pathRunsList, func(_ context.Context, token string) ([]jobs.BaseRun, string, error) {
			calls++
			if token != wantToken {
				t.Fatalf("request %d: page token %q, want %q", calls, token, wantToken)
			}
			if calls > len(bodies) {
				return nil, "", nil
			}
			var page jobs.ListRunsResponse
			if err := decodeBody(http.MethodGet, pathRunsList, []byte(bodies[calls-1]), &page); err != nil {
				malformed = true
				return nil, "", err
			}
			served = append(served, page.Runs...)
			wantToken = page.NextPageToken
			return page.Runs, page.NextPageToken, nil
		})
		if calls > len(bodies)+1 {
			t.Fatalf("%d requests for %d pages", calls, len(bodies))
		}
		if err != nil {
			if got != nil {
				t.Fatalf("a failed listing returned %d runs", len(got))
			}
			if !malformed && !strings.Contains(err.Error(), "server repeated page token") {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if !slices.EqualFunc(got, served, func(a, b jobs.BaseRun) bool { return a.RunId == b.RunId && a.JobId == b.JobId }) {
			t.Fatalf("got %d runs, want the %d served, in order", len(got), len(served))
		}
	})
}

// FuzzStatementResult decodes a Statement Execution answer (submission, status poll or
// result chunk) and follows its next-chunk link: whatever the server sends, the next request
// must stay on the workspace host, because it carries the workspace credentials.
func FuzzStatementResult(f *testing.F) {
	f.Add("01ef-stmt", `{"statement_id":"01ef-stmt","status":{"state":"SUCCEEDED"},"manifest":{"format":"JSON_ARRAY","schema":{"columns":[{"name":"event_id","position":0,"type_name":"STRING"}]},"total_chunk_count":2},"result":{"chunk_index":0,"row_offset":0,"data_array":[["e1"],[null]],"next_chunk_index":1,"next_chunk_internal_link":"/api/2.0/sql/statements/01ef-stmt/result/chunks/1?row_offset=2"}}`)
	f.Add("01ef-stmt", `{"statement_id":"01ef-stmt","status":{"state":"FAILED","error":{"error_code":"BAD_REQUEST","message":"[TABLE_OR_VIEW_NOT_FOUND]"}}}`)
	f.Add("s/../x", `{"result":{"chunk_index":1,"data_array":[["a",null,"c"]],"next_chunk_internal_link":"https://evil.example.com/api/2.0/x","next_chunk_index":2}}`)
	f.Add("s", `{"result":{"next_chunk_internal_link":"/api//evil.example.com/steal"}}`)
	f.Add("s", `{"result":{"next_chunk_internal_link":"/api/2.0/sql/statements/s/result/chunks/1?a=1&a=2&b=%zz"}}`)
	f.Add("s", `{"result":{"data_array":[[1,2]],"next_chunk_index":-1}}`)
	f.Add("", `{"manifest":{"total_chunk_count":"3","truncated":1}}`)
	const host = "dbc-test.cloud.databricks.com"
	f.Fuzz(func(t *testing.T, statementID, body string) {
		var resp statementResponse
		err := decodeBody(http.MethodGet, pathStatements+"/"+statementID, []byte(body), &resp)
		if err != nil {
			var ee *EndpointError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), "malformed JSON response") {
				t.Fatalf("undescriptive error: %v", err)
			}
			return
		}
		if resp.Result == nil {
			return
		}
		next, ok := nextChunkPath(statementID, resp.Result)
		if !ok {
			if resp.Result.NextChunkIndex != nil {
				t.Fatalf("next_chunk_index %d not followed", *resp.Result.NextChunkIndex)
			}
			return
		}
		path, query := splitLink(next)
		if strings.Contains(path, "?") {
			t.Fatalf("query left in path %q", path)
		}
		if before, _, _ := strings.Cut(next, "?"); path != before {
			t.Fatalf("link %q split into %q and %v", next, path, query)
		}
		u, err := url.Parse("https://" + host + path)
		if err != nil {
			return // the request cannot be built, so it cannot go anywhere
		}
		if u.Host != host || !strings.HasPrefix(u.Path, "/api/") {
			t.Fatalf("next chunk %q leaves the workspace: host %q, path %q", next, u.Host, u.Path)
		}
	})
}
