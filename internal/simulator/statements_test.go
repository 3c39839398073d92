package simulator

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type stmtReply struct {
	StatementID string `json:"statement_id"`
	Status      struct {
		State    string `json:"state"`
		SQLState string `json:"sql_state"`
		Error    *struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
		} `json:"error"`
	} `json:"status"`
	Manifest *struct {
		TotalChunkCount int  `json:"total_chunk_count"`
		TotalRowCount   int  `json:"total_row_count"`
		Truncated       bool `json:"truncated"`
	} `json:"manifest"`
	Result *struct {
		DataArray             [][]*string `json:"data_array"`
		NextChunkInternalLink string      `json:"next_chunk_internal_link"`
	} `json:"result"`
}

func getJSON(t *testing.T, url, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
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

func TestStatementAPI(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	wh := world.Workspace.Warehouses[0].ID

	t.Run("unsupported SQL fails with the real error shape", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{})
		var r stmtReply
		code := postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh,
			"statement": "SELECT count(*) FROM system.access.audit GROUP BY action_name"}, &r)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "FAILED", r.Status.State)
		require.NotNil(t, r.Status.Error)
		assert.Equal(t, "BAD_REQUEST", r.Status.Error.ErrorCode)
		assert.Contains(t, r.Status.Error.Message, "PARSE_SYNTAX_ERROR")
		assert.Nil(t, r.Result)
		assert.Equal(t, int64(1), sim.Stats().StatementsFailed)
	})

	t.Run("unknown table", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{})
		var r stmtReply
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "statement": "SELECT * FROM system.access.nope"}, &r)
		assert.Equal(t, "FAILED", r.Status.State)
		assert.Contains(t, r.Status.Error.Message, "TABLE_OR_VIEW_NOT_FOUND")
		assert.Equal(t, "42P01", r.Status.SQLState)
	})

	t.Run("bad requests are HTTP errors", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{})
		var e map[string]string
		assert.Equal(t, http.StatusNotFound, postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": "nope", "statement": "SELECT * FROM t"}, &e))
		assert.Equal(t, "RESOURCE_DOES_NOT_EXIST", e["error_code"])
		assert.Equal(t, http.StatusBadRequest, postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "statement": "SELECT * FROM t", "wait_timeout": "3s"}, &e))
		assert.Equal(t, http.StatusBadRequest, postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "statement": "SELECT * FROM t", "disposition": "EXTERNAL_LINKS"}, &e))
		assert.Equal(t, http.StatusNotFound, getJSON(t, hs.URL+"/api/2.0/sql/statements/unknown", sim.Token(), &e))
		assert.Equal(t, "NOT_FOUND", e["error_code"])
	})

	t.Run("slow statements go PENDING, RUNNING, SUCCEEDED", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{StatementLatency: 400 * time.Millisecond, ChunkRows: 4})
		var r stmtReply
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "wait_timeout": "0s",
			"statement": "SELECT event_id FROM system.access.audit ORDER BY event_time LIMIT 10"}, &r)
		assert.Equal(t, "PENDING", r.Status.State)
		assert.Nil(t, r.Manifest, "no result before success")
		seen := map[string]bool{}
		deadline := time.Now().Add(3 * time.Second)
		for r.Status.State != "SUCCEEDED" && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			getJSON(t, hs.URL+"/api/2.0/sql/statements/"+r.StatementID, sim.Token(), &r)
			seen[r.Status.State] = true
		}
		assert.True(t, seen["RUNNING"], "RUNNING is observable between PENDING and SUCCEEDED")
		require.Equal(t, "SUCCEEDED", r.Status.State)
		assert.Equal(t, 3, r.Manifest.TotalChunkCount)
		assert.Equal(t, 10, r.Manifest.TotalRowCount)
		require.Len(t, r.Result.DataArray, 4)
		assert.Equal(t, world.Events[0].EventID, *r.Result.DataArray[0][0])
		var chunk struct {
			ChunkIndex int         `json:"chunk_index"`
			RowOffset  int         `json:"row_offset"`
			DataArray  [][]*string `json:"data_array"`
		}
		assert.Equal(t, http.StatusOK, getJSON(t, hs.URL+r.Result.NextChunkInternalLink, sim.Token(), &chunk))
		assert.Equal(t, 1, chunk.ChunkIndex)
		assert.Equal(t, 4, chunk.RowOffset)
		assert.Equal(t, world.Events[4].EventID, *chunk.DataArray[0][0])
		assert.Equal(t, http.StatusBadRequest, getJSON(t, hs.URL+"/api/2.0/sql/statements/"+r.StatementID+"/result/chunks/3", sim.Token(), nil))
	})

	t.Run("a waiting POST returns the finished result", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{StatementLatency: 100 * time.Millisecond})
		var r stmtReply
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "wait_timeout": "5s",
			"statement": "SELECT event_id FROM system.access.audit LIMIT 3"}, &r)
		assert.Equal(t, "SUCCEEDED", r.Status.State)
		assert.Len(t, r.Result.DataArray, 3)
	})

	t.Run("cancel", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{StatementLatency: 10 * time.Second})
		var r stmtReply
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "wait_timeout": "0s",
			"statement": "SELECT event_id FROM system.access.audit"}, &r)
		assert.Equal(t, http.StatusOK, postJSON(t, hs.URL+"/api/2.0/sql/statements/"+r.StatementID+"/cancel", sim.Token(), map[string]any{}, nil))
		getJSON(t, hs.URL+"/api/2.0/sql/statements/"+r.StatementID, sim.Token(), &r)
		assert.Equal(t, "CANCELED", r.Status.State)
		assert.Equal(t, int64(1), sim.Stats().Cancellations)
	})

	t.Run("on_wait_timeout CANCEL cancels a statement still running", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{StatementLatency: 30 * time.Second})
		var r stmtReply
		start := time.Now()
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "wait_timeout": "5s",
			"on_wait_timeout": "CANCEL", "statement": "SELECT event_id FROM system.access.audit"}, &r)
		assert.GreaterOrEqual(t, time.Since(start), 5*time.Second, "the POST waits wait_timeout")
		assert.Equal(t, "CANCELED", r.Status.State)
	})

	t.Run("row_limit truncates", func(t *testing.T) {
		sim, hs := startServer(t, world, ServerOptions{})
		var r stmtReply
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh, "row_limit": 5,
			"statement": "SELECT event_id FROM system.access.audit"}, &r)
		assert.True(t, r.Manifest.Truncated)
		assert.Equal(t, 5, r.Manifest.TotalRowCount)
	})

	t.Run("live clock hides the future", func(t *testing.T) {
		now := world.Start.Add(10 * time.Hour)
		sim, hs := startServer(t, world, ServerOptions{Clock: func() time.Time { return now }})
		var r stmtReply
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": wh,
			"statement": "SELECT event_time FROM system.access.audit ORDER BY event_time DESC LIMIT 1"}, &r)
		require.Len(t, r.Result.DataArray, 1)
		last, err := time.Parse(time.RFC3339, *r.Result.DataArray[0][0])
		require.NoError(t, err)
		assert.False(t, last.After(now))
		assert.True(t, last.After(now.Add(-time.Hour)))
	})
}
