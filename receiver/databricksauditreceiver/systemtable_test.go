package databricksauditreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadatatest"
)

const warehouseToken = "dapi-test-token"

// auditRow is one row of the fake system.access.audit.
type auditRow struct {
	id     string
	t      time.Time
	action string
	status string // "" = NULL
}

// fakeWarehouse speaks the SQL Statement Execution API for SELECTs on system.access.audit:
// it applies the statement's from_ts/to_ts parameters and LIMIT, orders by event_time and
// event_id, and serves the result in two chunks so that chunk fetching is exercised.
type fakeWarehouse struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	rows       []auditRow
	windows    [][2]time.Time
	statements []string
	chunks     map[string][][][]*string
	nextID     int
	// running keeps every statement RUNNING, as on a slow or starting warehouse.
	running   bool
	cancelled []string
	// failures are answered, in order, to the next requests instead of the real answer.
	failures []int
}

var auditColumns = []struct{ name, typ string }{
	{"account_id", "STRING"}, {"workspace_id", "STRING"}, {"version", "STRING"}, {"event_time", "TIMESTAMP"},
	{"event_date", "DATE"}, {"source_ip_address", "STRING"}, {"user_agent", "STRING"}, {"session_id", "STRING"},
	{"user_identity", "STRUCT"}, {"service_name", "STRING"}, {"action_name", "STRING"}, {"request_id", "STRING"},
	{"request_params", "MAP"}, {"response", "STRUCT"}, {"audit_level", "STRING"}, {"event_id", "STRING"},
	{"identity_metadata", "STRUCT"},
}

func newFakeWarehouse(t *testing.T) *fakeWarehouse {
	for _, name := range []string{"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
		"DATABRICKS_ACCOUNT_ID", "DATABRICKS_AUTH_TYPE", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE"} {
		t.Setenv(name, "")
	}
	fw := &fakeWarehouse{t: t, chunks: map[string][][][]*string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/2.0/sql/statements", fw.submit)
	mux.HandleFunc("GET /api/2.0/sql/statements/{id}/result/chunks/{index}", fw.chunk)
	mux.HandleFunc("GET /api/2.0/sql/statements/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSONResponse(w, map[string]any{"statement_id": r.PathValue("id"), "status": map[string]any{"state": "RUNNING"}})
	})
	mux.HandleFunc("POST /api/2.0/sql/statements/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		fw.mu.Lock()
		fw.cancelled = append(fw.cancelled, r.PathValue("id"))
		fw.mu.Unlock()
		writeJSONResponse(w, map[string]any{})
	})
	fw.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+warehouseToken {
			http.Error(w, `{"error_code":"UNAUTHENTICATED"}`, http.StatusUnauthorized)
			return
		}
		fw.mu.Lock()
		var status int
		if len(fw.failures) > 0 {
			status, fw.failures = fw.failures[0], fw.failures[1:]
		}
		fw.mu.Unlock()
		if status != 0 {
			http.Error(w, `{"error_code":"INTERNAL_ERROR","message":"injected"}`, status)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(fw.srv.Close)
	return fw
}

func (fw *fakeWarehouse) add(rows ...auditRow) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.rows = append(fw.rows, rows...)
}

func (fw *fakeWarehouse) requestedWindows() [][2]time.Time {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return append([][2]time.Time(nil), fw.windows...)
}

var limitPattern = regexp.MustCompile(`LIMIT (\d+)`)

func (fw *fakeWarehouse) submit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WarehouseID string `json:"warehouse_id"`
		Statement   string `json:"statement"`
		Parameters  []struct{ Name, Value, Type string }
	}
	require.NoError(fw.t, json.NewDecoder(r.Body).Decode(&req))
	assert.Equal(fw.t, "wh-1", req.WarehouseID)
	params := map[string]string{}
	for _, p := range req.Parameters {
		params[p.Name] = p.Value
	}
	from, err := time.Parse(time.RFC3339Nano, params["from_ts"])
	require.NoError(fw.t, err)
	to, err := time.Parse(time.RFC3339Nano, params["to_ts"])
	require.NoError(fw.t, err)
	assert.Equal(fw.t, from.Format(time.DateOnly), params["from_date"], "event_date pruned to the window")
	limit := -1
	if m := limitPattern.FindStringSubmatch(req.Statement); m != nil {
		limit, _ = strconv.Atoi(m[1])
	}

	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.windows = append(fw.windows, [2]time.Time{from, to})
	fw.statements = append(fw.statements, req.Statement)
	var selected []auditRow
	for _, row := range fw.rows {
		if !row.t.Before(from) && row.t.Before(to) {
			selected = append(selected, row)
		}
	}
	sort.Slice(selected, func(i, j int) bool {
		if !selected[i].t.Equal(selected[j].t) {
			return selected[i].t.Before(selected[j].t)
		}
		return selected[i].id < selected[j].id
	})
	if limit >= 0 && len(selected) > limit {
		selected = selected[:limit]
	}
	data := make([][]*string, 0, len(selected))
	for _, row := range selected {
		data = append(data, row.values())
	}
	half := (len(data) + 1) / 2
	chunks := [][][]*string{data[:half], data[half:]}
	fw.nextID++
	id := "stmt-" + strconv.Itoa(fw.nextID)
	fw.chunks[id] = chunks
	if fw.running {
		writeJSONResponse(w, map[string]any{"statement_id": id, "status": map[string]any{"state": "PENDING"}})
		return
	}

	cols := make([]map[string]any, len(auditColumns))
	for i, c := range auditColumns {
		cols[i] = map[string]any{"name": c.name, "position": i, "type_name": c.typ}
	}
	result := map[string]any{"chunk_index": 0, "row_offset": 0, "data_array": chunks[0]}
	if len(chunks[1]) > 0 {
		result["next_chunk_index"] = 1
	}
	writeJSONResponse(w, map[string]any{
		"statement_id": id,
		"status":       map[string]any{"state": "SUCCEEDED"},
		"manifest": map[string]any{"format": "JSON_ARRAY", "schema": map[string]any{"columns": cols},
			"total_chunk_count": 2},
		"result": result,
	})
}

func (fw *fakeWarehouse) chunk(w http.ResponseWriter, r *http.Request) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	index, _ := strconv.Atoi(r.PathValue("index"))
	chunks := fw.chunks[r.PathValue("id")]
	require.Less(fw.t, index, len(chunks))
	writeJSONResponse(w, map[string]any{"chunk_index": index, "row_offset": 0, "data_array": chunks[index]})
}

func writeJSONResponse(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func ptr(s string) *string { return &s }

func (r auditRow) values() []*string {
	resp := `{"status_code":null,"error_message":null,"result":null}`
	if r.status != "" {
		resp = `{"status_code":` + r.status + `,"error_message":null,"result":null}`
	}
	if r.id == "" {
		return []*string{ptr("acc"), ptr("42"), ptr("2.0"), ptr("not a time")}
	}
	return []*string{
		ptr("acc"), ptr("42"), ptr("2.0"), ptr(r.t.UTC().Format("2006-01-02T15:04:05.000Z")),
		ptr(r.t.UTC().Format(time.DateOnly)), ptr("192.0.2.1:0"), ptr("curl/8"), nil,
		ptr(`{"email":"alice@example.com","subject_name":null}`), ptr("unityCatalog"), ptr(r.action), ptr("req-" + r.id),
		ptr(`{"full_name_arg":"main.hr.salaries","workspace_id":"42"}`), ptr(resp), ptr("ACCOUNT_LEVEL"), ptr(r.id),
		ptr(`{"run_by":null,"run_as":null}`),
	}
}

func (fw *fakeWarehouse) client(t *testing.T) *databricks.Client {
	cfg := databricks.NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	cfg.Token = configopaque.String(warehouseToken)
	cfg.MaxRequestsPerSecond = 1000
	c, err := databricks.New(cfg, zap.NewNop(), databricks.WithPollPolicy(databricks.PollPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)

func newTableSource(t *testing.T, fw *fakeWarehouse, store *checkpointStore, next *flakyConsumer, clk *clock, maxRows int) (*tableSource, *sourceEnv) {
	t.Helper()
	env := newSourceEnv(t, next)
	s := &tableSource{
		cfg: SystemTableConfig{WarehouseID: "wh-1", Table: "system.access.audit", PollInterval: time.Minute,
			InitialLookback: time.Hour, Overlap: 15 * time.Minute, MaxRowsPerPoll: maxRows, Delay: time.Minute},
		client: fw.client(t), store: store, deliverer: env.deliverer, telemetry: env.telemetry, logger: env.logger,
		batch: auditlog.NewBatch(auditlog.NewParser(), "test", ""), batchSize: 2, now: clk.Now,
	}
	require.NoError(t, s.load(context.Background()))
	return s, env
}

func eventIDs(next *flakyConsumer) []string {
	var out []string
	for _, lr := range next.records() {
		out = append(out, attrStr(lr, auditlog.AttrEventID))
	}
	return out
}

func TestTableSourceOverlapDedupeAndWatermark(t *testing.T) {
	ctx := context.Background()
	fw := newFakeWarehouse(t)
	clk := &clock{now: t0}
	ms := newMemStorage()
	id := component.MustNewIDWithName("databricks_audit", "uc")
	next := &flakyConsumer{}
	s, env := newTableSource(t, fw, storeFor(t, ms, id), next, clk, 1000)

	fw.add(auditRow{id: "e1", t: t0.Add(-50 * time.Minute), action: "getTable", status: "200"},
		auditRow{id: "e2", t: t0.Add(-10 * time.Minute), action: "getTable", status: "403"},
		auditRow{id: "e3", t: t0.Add(-30 * time.Second), action: "getTable"}) // newer than now - delay
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, []string{"e1", "e2"}, eventIDs(next))
	w := fw.requestedWindows()
	assert.Equal(t, [2]time.Time{t0.Add(-time.Hour), t0.Add(-time.Minute)}, w[0], "initial_lookback .. now - delay")
	assert.Equal(t, t0.Add(-time.Minute), s.state.Watermark)

	// A late row lands inside the overlap; the next poll re-reads the overlap.
	fw.add(auditRow{id: "late", t: t0.Add(-5 * time.Minute), action: "getTable", status: "200"})
	clk.Set(t0.Add(time.Minute))
	require.NoError(t, s.poll(ctx))
	w = fw.requestedWindows()
	assert.Equal(t, [2]time.Time{t0.Add(-16 * time.Minute), t0}, w[1], "watermark - overlap .. now - delay")
	assert.Equal(t, []string{"e1", "e2", "late", "e3"}, eventIDs(next), "each event_id once; e2 re-read and dropped")
	metadatatest.AssertEqualDatabricksAuditDuplicatesDropped(t, env.tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())

	// Schema of a system-table record.
	rec := next.records()[1]
	assert.Equal(t, "e2", attrStr(rec, auditlog.AttrEventID))
	assert.Equal(t, "system_table", attrStr(rec, auditlog.AttrAuditSource))
	assert.Equal(t, "403", attrStr(rec, auditlog.AttrStatusCode))
	assert.Equal(t, "WARN", rec.SeverityText())
	assert.Equal(t, "192.0.2.1", attrStr(rec, auditlog.AttrSourceAddress))
	assert.Equal(t, "table", attrStr(rec, auditlog.AttrObjectType))
	assert.Equal(t, "main.hr.salaries", attrStr(rec, auditlog.AttrObjectName))
	assert.Equal(t, "main.hr.salaries", attrStr(rec, auditlog.AttrRequestParamPrefix+"full_name_arg"))
	assert.Equal(t, t0.Add(-10*time.Minute), rec.Timestamp().AsTime())
	body := rec.Body().Map().AsRaw()
	assert.Equal(t, map[string]any{"email": "alice@example.com", "subject_name": nil}, body["user_identity"])

	// Only the ids the next poll can return again are remembered.
	assert.ElementsMatch(t, []string{"e2", "late", "e3"}, keys(s.state.Seen), "e1 is older than the next window")

	// Restart with the same storage: the overlap is read again, nothing is emitted twice.
	restarted := &flakyConsumer{}
	s2, _ := newTableSource(t, fw, storeFor(t, ms, id), restarted, clk, 1000)
	clk.Set(t0.Add(2 * time.Minute))
	require.NoError(t, s2.poll(ctx))
	assert.Empty(t, eventIDs(restarted))
	assert.Equal(t, t0.Add(time.Minute), s2.state.Watermark)
}

func keys(m map[string]int64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestTableSourceFullPageContinuesWithoutGap(t *testing.T) {
	ctx := context.Background()
	fw := newFakeWarehouse(t)
	clk := &clock{now: t0}
	next := &flakyConsumer{}
	s, _ := newTableSource(t, fw, &checkpointStore{client: nopStorage()}, next, clk, 3)
	var want []string
	for i := 0; i < 7; i++ {
		id := fmt.Sprintf("e%d", i)
		want = append(want, id)
		// e2 and e3 share an event_time: a page boundary falls between them.
		ts := t0.Add(-40*time.Minute + time.Duration(i)*time.Minute)
		if i == 3 {
			ts = t0.Add(-38 * time.Minute)
		}
		fw.add(auditRow{id: id, t: ts, action: "getTable", status: "200"})
	}
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, want[:3], eventIDs(next))
	assert.True(t, s.state.CatchingUp)
	assert.Equal(t, t0.Add(-38*time.Minute), s.state.Watermark, "the last event_time read")

	require.NoError(t, s.poll(ctx))
	w := fw.requestedWindows()
	assert.Equal(t, t0.Add(-38*time.Minute), w[1][0], "continues from the last event_time, no overlap subtracted")
	require.NoError(t, s.poll(ctx))
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, want, eventIDs(next), "every row once, in order")
	assert.False(t, s.state.CatchingUp)
}

func TestTableSourceBadRowsAndRefusals(t *testing.T) {
	ctx := context.Background()
	fw := newFakeWarehouse(t)
	clk := &clock{now: t0}
	ms := newMemStorage()
	id := component.MustNewIDWithName("databricks_audit", "bad")
	next := &flakyConsumer{refusals: 2}
	next.onRefuse = func() { assert.Empty(t, ms.value(id), "no checkpoint while refused") }
	s, env := newTableSource(t, fw, storeFor(t, ms, id), next, clk, 1000)
	fw.add(auditRow{id: "e1", t: t0.Add(-20 * time.Minute), action: "getTable", status: "200"},
		auditRow{id: "", t: t0.Add(-19 * time.Minute)}, // undecodable row
		auditRow{id: "e2", t: t0.Add(-18 * time.Minute), action: "getTable", status: "200"})
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, []string{"e1", "e2"}, eventIDs(next))
	assert.Equal(t, 3, next.calls)
	metadatatest.AssertEqualDatabricksAuditRecordsRejected(t, env.tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDatabricksAuditRecordsRead(t, env.tt, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
	assert.Len(t, env.logs.FilterMessageSnippet("Skipping audit rows that cannot be decoded").All(), 1)
	lag, ok := s.checkpointLag(t0)
	require.True(t, ok)
	assert.Equal(t, time.Minute, lag)
}

func TestTableSourceCancelledQuery(t *testing.T) {
	fw := newFakeWarehouse(t)
	clk := &clock{now: t0}
	next := &flakyConsumer{}
	s, _ := newTableSource(t, fw, &checkpointStore{client: nopStorage()}, next, clk, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, s.poll(ctx))
	assert.True(t, s.state.Watermark.IsZero(), "a failed poll does not move the watermark")
}
