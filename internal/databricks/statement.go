package databricks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

const (
	pathStatements = "/api/2.0/sql/statements"
	// DefaultStatementTimeout applies when Statement.Timeout is zero.
	DefaultStatementTimeout = 10 * time.Minute
	// statementWaitTimeout lets quick statements answer within the submission itself.
	statementWaitTimeout = "10s"
	// cancelTimeout bounds the best-effort cancel sent after the caller's context ended.
	cancelTimeout = 10 * time.Second
)

// Statement is one SQL statement for the Statement Execution API.
type Statement struct {
	WarehouseID string
	SQL         string
	// Params are bound to named markers (:name) in SQL.
	Params []SQLParam
	// Timeout bounds the whole execution including result fetching; 0 means 10m. When it
	// passes, the statement is canceled on the warehouse.
	Timeout time.Duration
}

// SQLParam is a named statement parameter; Type is a Databricks SQL type such as
// "TIMESTAMP", "DATE" or "STRING" (empty means STRING).
type SQLParam struct{ Name, Value, Type string }

// StatementError is a statement that ended FAILED, CANCELED or CLOSED, carrying the API's
// error code and message.
type StatementError struct {
	StatementID string
	State       string
	ErrorCode   string
	Message     string
}

func (e *StatementError) Error() string {
	msg := fmt.Sprintf("statement %s %s", e.StatementID, e.State)
	if e.ErrorCode != "" {
		msg += ": " + e.ErrorCode
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

type statementRequest struct {
	WarehouseID   string               `json:"warehouse_id"`
	Statement     string               `json:"statement"`
	Parameters    []statementParameter `json:"parameters,omitempty"`
	Disposition   string               `json:"disposition"`
	Format        string               `json:"format"`
	WaitTimeout   string               `json:"wait_timeout"`
	OnWaitTimeout string               `json:"on_wait_timeout"`
}

type statementParameter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

// The response types are our own rather than the SDK's because the SDK decodes
// data_array into [][]string, which cannot tell SQL NULL from an empty string.
type statementResponse struct {
	StatementID string          `json:"statement_id"`
	Status      statementStatus `json:"status"`
	Manifest    *resultManifest `json:"manifest"`
	Result      *resultChunk    `json:"result"`
}

type statementStatus struct {
	State string `json:"state"`
	Error *struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	} `json:"error"`
}

type resultManifest struct {
	Format string `json:"format"`
	Schema struct {
		Columns []resultColumn `json:"columns"`
	} `json:"schema"`
	TotalChunkCount int  `json:"total_chunk_count"`
	Truncated       bool `json:"truncated"`
}

type resultColumn struct {
	Name     string `json:"name"`
	Position int    `json:"position"`
	TypeName string `json:"type_name"`
}

type resultChunk struct {
	ChunkIndex            int         `json:"chunk_index"`
	RowOffset             int64       `json:"row_offset"`
	DataArray             [][]*string `json:"data_array"`
	NextChunkIndex        *int        `json:"next_chunk_index"`
	NextChunkInternalLink string      `json:"next_chunk_internal_link"`
}

// ExecuteStatement submits st (INLINE disposition, JSON_ARRAY format), polls with backoff
// while it is PENDING or RUNNING, then hands every result chunk in order to onChunk.
// Values are the API's strings, nil for SQL NULL. FAILED, CANCELED and CLOSED become a
// *StatementError. When ctx ends or st.Timeout passes before the statement finished, the
// statement is canceled on the warehouse. An error from onChunk stops the fetching and is
// returned. onChunk is not called for an empty result.
func (c *Client) ExecuteStatement(ctx context.Context, st Statement, onChunk func(columns []string, rows [][]*string) error) error {
	var names []string
	return c.executeStatement(ctx, st, func(cols []resultColumn, rows [][]*string) error {
		if names == nil {
			names = columnNames(cols)
		}
		return onChunk(names, rows)
	})
}

func (c *Client) executeStatement(ctx context.Context, st Statement, onChunk func([]resultColumn, [][]*string) error) error {
	if st.WarehouseID == "" {
		return errors.New("statement: warehouse id is required")
	}
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = DefaultStatementTimeout
	}
	stCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req := statementRequest{
		WarehouseID:   st.WarehouseID,
		Statement:     st.SQL,
		Disposition:   "INLINE",
		Format:        "JSON_ARRAY",
		WaitTimeout:   statementWaitTimeout,
		OnWaitTimeout: "CONTINUE",
	}
	for _, p := range st.Params {
		req.Parameters = append(req.Parameters, statementParameter(p))
	}
	var resp statementResponse
	if err := c.call(stCtx, retryUnlessProcessed, http.MethodPost, pathStatements, nil, req, &resp); err != nil {
		return explainTimeout(stCtx, ctx, timeout, err)
	}
	if resp.StatementID == "" {
		return fmt.Errorf("POST %s: response has no statement_id", pathStatements)
	}
	resp, err := c.awaitStatement(stCtx, resp)
	if err != nil {
		c.cancelStatement(ctx, resp.StatementID)
		return explainTimeout(stCtx, ctx, timeout, fmt.Errorf("statement %s: %w", resp.StatementID, err))
	}
	if resp.Status.State != "SUCCEEDED" {
		se := &StatementError{StatementID: resp.StatementID, State: resp.Status.State}
		if resp.Status.Error != nil {
			se.ErrorCode, se.Message = resp.Status.Error.ErrorCode, resp.Status.Error.Message
		}
		return se
	}
	if err := c.streamChunks(stCtx, resp, onChunk); err != nil {
		return explainTimeout(stCtx, ctx, timeout, err)
	}
	return nil
}

// awaitStatement polls until the statement leaves PENDING/RUNNING. On error it returns the
// last state seen, so the caller can cancel a statement that is still running.
func (c *Client) awaitStatement(ctx context.Context, resp statementResponse) (statementResponse, error) {
	path := pathStatements + "/" + url.PathEscape(resp.StatementID)
	interval := c.polling.InitialInterval
	for isStatementRunning(resp.Status.State) {
		if err := sleep(ctx, interval); err != nil {
			return resp, err
		}
		interval = min(2*interval, c.polling.MaxInterval)
		var next statementResponse
		if err := c.call(ctx, retryIdempotent, http.MethodGet, path, nil, nil, &next); err != nil {
			return resp, err
		}
		if next.StatementID == "" {
			next.StatementID = resp.StatementID
		}
		resp = next
	}
	return resp, nil
}

func isStatementRunning(state string) bool { return state == "PENDING" || state == "RUNNING" }

// cancelStatement is best effort: the caller's context may already be over, so it runs on
// a detached one with its own short timeout.
func (c *Client) cancelStatement(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	path := pathStatements + "/" + url.PathEscape(id) + "/cancel"
	if err := c.call(cctx, retryIdempotent, http.MethodPost, path, nil, struct{}{}, nil); err != nil {
		c.logger.Warn("Could not cancel SQL statement; it may keep running on the warehouse until it finishes",
			zap.String("statement_id", id), zap.Error(err))
	}
}

func (c *Client) streamChunks(ctx context.Context, resp statementResponse, onChunk func([]resultColumn, [][]*string) error) error {
	if resp.Manifest == nil {
		return fmt.Errorf("statement %s: SUCCEEDED without a result manifest", resp.StatementID)
	}
	if resp.Manifest.Truncated {
		c.logger.Warn("SQL statement result was truncated by the server; narrow the time window or lower the row limit",
			zap.String("statement_id", resp.StatementID))
	}
	cols := resp.Manifest.Schema.Columns
	chunk := resp.Result
	if chunk == nil && resp.Manifest.TotalChunkCount > 0 {
		var err error
		if chunk, err = c.fetchChunk(ctx, resp.StatementID, chunkPath(resp.StatementID, 0)); err != nil {
			return err
		}
	}
	for expected := 0; chunk != nil; expected++ {
		if chunk.ChunkIndex != expected {
			return fmt.Errorf("statement %s: expected result chunk %d, got %d", resp.StatementID, expected, chunk.ChunkIndex)
		}
		if len(chunk.DataArray) > 0 {
			if err := onChunk(cols, chunk.DataArray); err != nil {
				return err
			}
		}
		next, ok := nextChunkPath(resp.StatementID, chunk)
		if !ok {
			return nil
		}
		var err error
		if chunk, err = c.fetchChunk(ctx, resp.StatementID, next); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) fetchChunk(ctx context.Context, statementID, link string) (*resultChunk, error) {
	path, query := splitLink(link)
	var chunk resultChunk
	if err := c.call(ctx, retryIdempotent, http.MethodGet, path, query, nil, &chunk); err != nil {
		return nil, fmt.Errorf("statement %s: %w", statementID, err)
	}
	return &chunk, nil
}

// nextChunkPath prefers the server's next_chunk_internal_link, but only when it is a
// path on the same host: the request carries the workspace credentials.
func nextChunkPath(statementID string, chunk *resultChunk) (string, bool) {
	if link := chunk.NextChunkInternalLink; strings.HasPrefix(link, "/api/") && !strings.Contains(link, "//") {
		return link, true
	}
	if chunk.NextChunkIndex != nil {
		return chunkPath(statementID, *chunk.NextChunkIndex), true
	}
	return "", false
}

func chunkPath(statementID string, index int) string {
	return pathStatements + "/" + url.PathEscape(statementID) + "/result/chunks/" + strconv.Itoa(index)
}

func splitLink(link string) (string, map[string]any) {
	path, rawQuery, found := strings.Cut(link, "?")
	if !found {
		return path, nil
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return path, nil
	}
	query := make(map[string]any, len(values))
	for k, v := range values {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	return path, query
}

func columnNames(cols []resultColumn) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// explainTimeout turns the statement's own deadline into a readable error while keeping
// the caller's cancellation as it is.
func explainTimeout(stCtx, callerCtx context.Context, timeout time.Duration, err error) error {
	if callerCtx.Err() == nil && errors.Is(stCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("statement timeout of %s exceeded: %w", timeout, err)
	}
	return err
}
