package databricks

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeStatements implements the Statement Execution API over fixed result chunks.
type fakeStatements struct {
	t       *testing.T
	columns []map[string]any
	chunks  [][][]*string
	// submitState is the state in the POST answer; RUNNING/PENDING make the client poll.
	submitState string
	// runningPolls is how many GETs answer RUNNING before finalState.
	runningPolls int
	finalState   string
	finalError   map[string]any
	// indexOnly omits next_chunk_internal_link, leaving next_chunk_index.
	indexOnly bool

	mu        sync.Mutex
	requests  []statementRequest
	polls     int
	cancels   int
	cancelled bool
}

const fakeStatementID = "01ef-fake-statement"

func (fs *fakeStatements) register(fw *fakeWorkspace) {
	fw.handle("POST /api/2.0/sql/statements", fs.submit)
	fw.handle("GET /api/2.0/sql/statements/{id}", fs.get)
	fw.handle("GET /api/2.0/sql/statements/{id}/result/chunks/{n}", fs.chunk)
	fw.handle("POST /api/2.0/sql/statements/{id}/cancel", fs.cancel)
}

func (fs *fakeStatements) submit(w http.ResponseWriter, r *http.Request) {
	var req statementRequest
	require.NoError(fs.t, json.NewDecoder(r.Body).Decode(&req))
	fs.mu.Lock()
	fs.requests = append(fs.requests, req)
	fs.mu.Unlock()
	state := fs.submitState
	if state == "" {
		state = "SUCCEEDED"
	}
	writeJSON(w, http.StatusOK, fs.response(state))
}

func (fs *fakeStatements) get(w http.ResponseWriter, r *http.Request) {
	require.Equal(fs.t, fakeStatementID, r.PathValue("id"))
	fs.mu.Lock()
	fs.polls++
	state := fs.finalState
	if fs.cancelled {
		state = "CANCELED"
	} else if fs.runningPolls < 0 || fs.polls <= fs.runningPolls {
		state = "RUNNING"
	}
	fs.mu.Unlock()
	writeJSON(w, http.StatusOK, fs.response(state))
}

func (fs *fakeStatements) response(state string) map[string]any {
	resp := map[string]any{"statement_id": fakeStatementID, "status": map[string]any{"state": state}}
	switch state {
	case "SUCCEEDED":
		total := 0
		for _, c := range fs.chunks {
			total += len(c)
		}
		resp["manifest"] = map[string]any{
			"format": "JSON_ARRAY", "schema": map[string]any{"column_count": len(fs.columns), "columns": fs.columns},
			"total_chunk_count": len(fs.chunks), "total_row_count": total,
		}
		if len(fs.chunks) > 0 {
			resp["result"] = fs.chunkBody(0)
		}
	case "FAILED", "CANCELED", "CLOSED":
		if fs.finalError != nil {
			resp["status"].(map[string]any)["error"] = fs.finalError
		}
	}
	return resp
}

func (fs *fakeStatements) chunkBody(n int) map[string]any {
	offset := 0
	for i := range n {
		offset += len(fs.chunks[i])
	}
	body := map[string]any{"chunk_index": n, "row_offset": offset, "row_count": len(fs.chunks[n]), "data_array": fs.chunks[n]}
	if n+1 < len(fs.chunks) {
		body["next_chunk_index"] = n + 1
		if !fs.indexOnly {
			body["next_chunk_internal_link"] = "/api/2.0/sql/statements/" + fakeStatementID + "/result/chunks/" + strconv.Itoa(n+1)
		}
	}
	return body
}

func (fs *fakeStatements) chunk(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(fs.chunks) {
		writeAPIError(w, http.StatusNotFound, "NOT_FOUND", "no such chunk")
		return
	}
	writeJSON(w, http.StatusOK, fs.chunkBody(n))
}

func (fs *fakeStatements) cancel(w http.ResponseWriter, _ *http.Request) {
	fs.mu.Lock()
	fs.cancels++
	fs.cancelled = true
	fs.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (fs *fakeStatements) cancelCount() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.cancels
}

func columnsOf(names ...string) []map[string]any {
	cols := make([]map[string]any, len(names))
	for i, n := range names {
		cols[i] = map[string]any{"name": n, "position": i, "type_name": "STRING", "type_text": "STRING"}
	}
	return cols
}

// row builds a JSON_ARRAY row; nil entries are SQL NULL.
func row(values ...any) []*string {
	out := make([]*string, len(values))
	for i, v := range values {
		if s, ok := v.(string); ok {
			out[i] = strPtr(s)
		}
	}
	return out
}
