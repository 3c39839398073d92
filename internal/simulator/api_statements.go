package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// statement is one submitted SQL statement. Its result is computed at submission (over the
// simulated "now"); latency only delays when the client may see it.
type statement struct {
	id        string
	submitted time.Time // wall clock
	ready     time.Time // wall clock
	canceled  bool
	err       *stmtError
	result    *ResultSet
	truncated bool
	chunkRows int
}

type stmtError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

type stmtStatus struct {
	State    string     `json:"state"`
	Error    *stmtError `json:"error,omitempty"`
	SQLState string     `json:"sql_state,omitempty"`
}

type columnInfo struct {
	Name     string `json:"name"`
	Position int    `json:"position"`
	TypeName string `json:"type_name"`
	TypeText string `json:"type_text"`
}

type chunkInfo struct {
	ChunkIndex int   `json:"chunk_index"`
	RowOffset  int64 `json:"row_offset"`
	RowCount   int64 `json:"row_count"`
}

type manifest struct {
	Format          string      `json:"format"`
	Schema          schema      `json:"schema"`
	TotalChunkCount int         `json:"total_chunk_count"`
	Chunks          []chunkInfo `json:"chunks"`
	TotalRowCount   int64       `json:"total_row_count"`
	Truncated       bool        `json:"truncated,omitempty"`
}

type schema struct {
	ColumnCount int          `json:"column_count"`
	Columns     []columnInfo `json:"columns"`
}

// resultChunk mirrors ResultData but keeps SQL NULL as JSON null in data_array.
type resultChunk struct {
	ChunkIndex            int         `json:"chunk_index"`
	RowOffset             int64       `json:"row_offset"`
	RowCount              int64       `json:"row_count"`
	DataArray             [][]*string `json:"data_array,omitempty"`
	NextChunkIndex        *int        `json:"next_chunk_index,omitempty"`
	NextChunkInternalLink string      `json:"next_chunk_internal_link,omitempty"`
}

type stmtResponse struct {
	StatementID string       `json:"statement_id"`
	Status      stmtStatus   `json:"status"`
	Manifest    *manifest    `json:"manifest,omitempty"`
	Result      *resultChunk `json:"result,omitempty"`
}

type executeRequest struct {
	WarehouseID   string  `json:"warehouse_id"`
	Statement     string  `json:"statement"`
	Parameters    []Param `json:"parameters"`
	WaitTimeout   string  `json:"wait_timeout"`
	OnWaitTimeout string  `json:"on_wait_timeout"`
	Disposition   string  `json:"disposition"`
	Format        string  `json:"format"`
	RowLimit      int64   `json:"row_limit"`
	Catalog       string  `json:"catalog"`
	Schema        string  `json:"schema"`
}

// resultTTL is how long a finished statement's result stays fetchable (one hour, as
// documented); after it the statement is CLOSED, and later forgotten.
const resultTTL = time.Hour

// table returns a simulated system table as of now.
func (s *Server) table(name string, now time.Time) *Table {
	switch strings.ToLower(name) {
	case "system.access.audit":
		return auditTable(s.world.Events, now)
	case "system.compute.node_timeline":
		return s.world.Workspace.nodeTimelineTable(now)
	case "system.billing.usage":
		return s.world.Workspace.billingTable(now)
	}
	return nil
}

func (s *Server) executeStatement(w http.ResponseWriter, r *http.Request) {
	var req executeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request")
		return
	}
	switch {
	case req.WarehouseID == "":
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "warehouse_id is required")
		return
	case s.warehouse(req.WarehouseID) == nil:
		writeError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "No SQL warehouse found with id "+req.WarehouseID)
		return
	case req.Disposition != "" && req.Disposition != "INLINE":
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "disposition "+req.Disposition+" is not supported by the simulator (INLINE only)")
		return
	case req.Format != "" && req.Format != "JSON_ARRAY":
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "format "+req.Format+" is not supported with INLINE disposition")
		return
	}
	wait := 10 * time.Second
	if req.WaitTimeout != "" {
		secs, err := strconv.Atoi(strings.TrimSuffix(req.WaitTimeout, "s"))
		if err != nil || !strings.HasSuffix(req.WaitTimeout, "s") || (secs != 0 && (secs < 5 || secs > 50)) {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "wait_timeout must be 0s or between 5s and 50s")
			return
		}
		wait = time.Duration(secs) * time.Second
	}
	st := s.run(req)
	if ready := time.Until(st.ready); ready > 0 {
		if wait > 0 {
			sleepCtx(r.Context(), min(wait, ready))
		}
		if time.Now().Before(st.ready) && req.OnWaitTimeout == "CANCEL" && wait > 0 {
			s.mu.Lock()
			st.canceled = true
			s.mu.Unlock()
		}
	}
	writeJSON(w, http.StatusOK, s.describe(st))
}

// run parses and executes a statement and registers it.
func (s *Server) run(req executeRequest) *statement {
	s.mu.Lock()
	s.nextID++
	id := stableUUID("statement", s.world.Scenario.Seed, s.nextID)
	s.mu.Unlock()
	now := time.Now()
	st := &statement{id: id, submitted: now, ready: now.Add(s.opts.StatementLatency), chunkRows: s.opts.ChunkRows}
	q, err := ParseSQL(req.Statement)
	if err == nil {
		t := s.table(q.Table, s.Now())
		if t == nil {
			err = &SQLError{0, fmt.Sprintf("[TABLE_OR_VIEW_NOT_FOUND] The table or view `%s` cannot be found.", q.Table)}
		} else {
			st.result, err = Execute(q, t, req.Parameters)
		}
	}
	if err != nil {
		st.err = &stmtError{ErrorCode: "BAD_REQUEST", Message: err.Error()}
		st.result = nil
	} else if req.RowLimit > 0 && int64(len(st.result.Rows)) > req.RowLimit {
		st.result.Rows = st.result.Rows[:req.RowLimit]
		st.truncated = true
	}
	s.faults.count(func(x *Stats) {
		x.Statements++
		if st.err != nil {
			x.StatementsFailed++
		}
	})
	s.mu.Lock()
	for old, o := range s.statements {
		if now.Sub(o.ready) > 2*resultTTL {
			delete(s.statements, old) // bounded memory in long live runs
		}
	}
	s.statements[id] = st
	s.mu.Unlock()
	return st
}

func (s *Server) state(st *statement) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch now := time.Now(); {
	case st.canceled:
		return "CANCELED"
	case now.Before(st.submitted.Add(st.ready.Sub(st.submitted) / 2)):
		return "PENDING"
	case now.Before(st.ready):
		return "RUNNING"
	case st.err != nil:
		return "FAILED"
	case now.Sub(st.ready) > resultTTL:
		return "CLOSED"
	}
	return "SUCCEEDED"
}

func (st *statement) chunkCount() int {
	n := len(st.result.Rows)
	if n == 0 {
		return 1
	}
	return (n + st.chunkRows - 1) / st.chunkRows
}

func (st *statement) chunk(i int) *resultChunk {
	lo := i * st.chunkRows
	hi := min(lo+st.chunkRows, len(st.result.Rows))
	c := &resultChunk{ChunkIndex: i, RowOffset: int64(lo), RowCount: int64(hi - lo)}
	if hi > lo {
		c.DataArray = st.result.Rows[lo:hi]
	}
	if i+1 < st.chunkCount() {
		next := i + 1
		c.NextChunkIndex = &next
		c.NextChunkInternalLink = fmt.Sprintf("/api/2.0/sql/statements/%s/result/chunks/%d", st.id, next)
	}
	return c
}

func (s *Server) describe(st *statement) stmtResponse {
	resp := stmtResponse{StatementID: st.id, Status: stmtStatus{State: s.state(st)}}
	switch resp.Status.State {
	case "FAILED":
		resp.Status.Error, resp.Status.SQLState = st.err, "42601"
		if strings.Contains(st.err.Message, "TABLE_OR_VIEW_NOT_FOUND") {
			resp.Status.SQLState = "42P01"
		}
	case "SUCCEEDED":
		m := &manifest{Format: "JSON_ARRAY", TotalChunkCount: st.chunkCount(), TotalRowCount: int64(len(st.result.Rows)), Truncated: st.truncated}
		m.Schema.ColumnCount = len(st.result.Columns)
		for i, c := range st.result.Columns {
			m.Schema.Columns = append(m.Schema.Columns, columnInfo{Name: c.Name, Position: i, TypeName: c.TypeName, TypeText: strings.ToUpper(c.TypeText)})
		}
		for i := 0; i < st.chunkCount(); i++ {
			c := st.chunk(i)
			m.Chunks = append(m.Chunks, chunkInfo{ChunkIndex: i, RowOffset: c.RowOffset, RowCount: c.RowCount})
		}
		resp.Manifest = m
		resp.Result = st.chunk(0)
		s.faults.count(func(x *Stats) { x.ChunksServed++ })
	}
	return resp
}

func (s *Server) lookup(w http.ResponseWriter, id string) *statement {
	s.mu.Lock()
	st := s.statements[id]
	s.mu.Unlock()
	if st == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Statement "+id+" not found")
	}
	return st
}

func (s *Server) getStatement(w http.ResponseWriter, r *http.Request) {
	if st := s.lookup(w, r.PathValue("id")); st != nil {
		writeJSON(w, http.StatusOK, s.describe(st))
	}
}

func (s *Server) getChunk(w http.ResponseWriter, r *http.Request) {
	st := s.lookup(w, r.PathValue("id"))
	if st == nil {
		return
	}
	if state := s.state(st); state != "SUCCEEDED" {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Statement "+st.id+" is in state "+state+"; results are not available")
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= st.chunkCount() {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "chunk index "+r.PathValue("n")+" is out of range")
		return
	}
	s.faults.count(func(x *Stats) { x.ChunksServed++ })
	writeJSON(w, http.StatusOK, st.chunk(n))
}

func (s *Server) cancelStatement(w http.ResponseWriter, r *http.Request) {
	st := s.lookup(w, r.PathValue("id"))
	if st == nil {
		return
	}
	if state := s.state(st); state == "PENDING" || state == "RUNNING" {
		s.mu.Lock()
		st.canceled = true
		s.mu.Unlock()
	}
	s.faults.count(func(x *Stats) { x.Cancellations++ })
	writeJSON(w, http.StatusOK, map[string]any{})
}
