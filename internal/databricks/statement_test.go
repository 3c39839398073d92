package databricks

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func collectStatement(t *testing.T, c *Client, ctx context.Context, st Statement) ([]string, [][]*string, int, error) {
	t.Helper()
	var cols []string
	var rows [][]*string
	calls := 0
	err := c.ExecuteStatement(ctx, st, func(columns []string, chunk [][]*string) error {
		calls++
		cols = columns
		rows = append(rows, chunk...)
		return nil
	})
	return cols, rows, calls, err
}

func TestExecuteStatementStreamsEveryChunkInOrder(t *testing.T) {
	tests := []struct {
		name      string
		indexOnly bool
	}{
		{"next_chunk_internal_link", false},
		{"next_chunk_index only", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFakeWorkspace(t)
			fs := &fakeStatements{t: t, columns: columnsOf("id", "name"), indexOnly: tt.indexOnly, chunks: [][][]*string{
				{row("1", "a"), row("2", nil)},
				{row("3", "")},
				{row("4", "d"), row("5", "e")},
			}}
			fs.register(fw)
			c := fw.client()

			cols, rows, calls, err := collectStatement(t, c, context.Background(), Statement{
				WarehouseID: "wh1", SQL: "SELECT id, name FROM t WHERE ts >= :from",
				Params: []SQLParam{{Name: "from", Value: "2025-01-01T00:00:00.000000Z", Type: "TIMESTAMP"}},
			})
			require.NoError(t, err)
			assert.Equal(t, []string{"id", "name"}, cols)
			assert.Equal(t, 3, calls)
			require.Len(t, rows, 5)
			for i, r := range rows {
				assert.Equal(t, string(rune('1'+i)), *r[0])
			}
			assert.Nil(t, rows[1][1], "SQL NULL stays nil")
			require.NotNil(t, rows[2][1])
			assert.Empty(t, *rows[2][1], "an empty string is not NULL")
			assert.Equal(t, 1, fw.count("GET /api/2.0/sql/statements/"+fakeStatementID+"/result/chunks/1"))
			assert.Equal(t, 1, fw.count("GET /api/2.0/sql/statements/"+fakeStatementID+"/result/chunks/2"))
			assert.Zero(t, fw.count("GET /api/2.0/sql/statements/"+fakeStatementID+"/result/chunks/0"), "chunk 0 comes with the statement")

			require.Len(t, fs.requests, 1)
			assert.Equal(t, statementRequest{
				WarehouseID: "wh1", Statement: "SELECT id, name FROM t WHERE ts >= :from",
				Parameters:  []statementParameter{{Name: "from", Value: "2025-01-01T00:00:00.000000Z", Type: "TIMESTAMP"}},
				Disposition: "INLINE", Format: "JSON_ARRAY", WaitTimeout: "10s", OnWaitTimeout: "CONTINUE",
			}, fs.requests[0])
		})
	}
}

func TestExecuteStatementPollsUntilSucceeded(t *testing.T) {
	fw := newFakeWorkspace(t)
	fs := &fakeStatements{t: t, columns: columnsOf("n"), submitState: "PENDING", runningPolls: 3, finalState: "SUCCEEDED",
		chunks: [][][]*string{{row("42")}}}
	fs.register(fw)
	_, rows, _, err := collectStatement(t, fw.client(), context.Background(), Statement{WarehouseID: "wh1", SQL: "SELECT 42 AS n"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, "42", *rows[0][0])
	assert.Equal(t, 4, fw.count("GET /api/2.0/sql/statements/"+fakeStatementID), "three RUNNING answers, then SUCCEEDED")
	assert.Zero(t, fs.cancelCount())
}

func TestExecuteStatementTerminalFailures(t *testing.T) {
	tests := []struct {
		state   string
		error   map[string]any
		wantMsg string
	}{
		{"FAILED", map[string]any{"error_code": "BAD_REQUEST", "message": "[TABLE_OR_VIEW_NOT_FOUND] The table or view `system`.`access`.`audit` cannot be found."},
			"statement " + fakeStatementID + " FAILED: BAD_REQUEST: [TABLE_OR_VIEW_NOT_FOUND] The table or view `system`.`access`.`audit` cannot be found."},
		{"CANCELED", nil, "statement " + fakeStatementID + " CANCELED"},
		{"CLOSED", map[string]any{"message": "result expired"}, "statement " + fakeStatementID + " CLOSED: result expired"},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			fw := newFakeWorkspace(t)
			fs := &fakeStatements{t: t, submitState: "RUNNING", runningPolls: 1, finalState: tt.state, finalError: tt.error}
			fs.register(fw)
			_, _, calls, err := collectStatement(t, fw.client(), context.Background(), Statement{WarehouseID: "wh1", SQL: "SELECT * FROM system.access.audit"})
			require.Error(t, err)
			assert.Equal(t, tt.wantMsg, err.Error())
			var se *StatementError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.state, se.State)
			assert.Zero(t, calls)
			assert.Zero(t, fs.cancelCount(), "a finished statement needs no cancel")
		})
	}
}

func TestExecuteStatementCancelsWhenContextEnds(t *testing.T) {
	fw := newFakeWorkspace(t)
	fs := &fakeStatements{t: t, submitState: "PENDING", runningPolls: -1}
	fs.register(fw)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, _, _, err := collectStatement(t, fw.client(), ctx, Statement{WarehouseID: "wh1", SQL: "SELECT * FROM system.access.audit"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	assert.Equal(t, 1, fs.cancelCount())
	assert.Equal(t, 1, fw.count("POST /api/2.0/sql/statements/"+fakeStatementID+"/cancel"))
}

func TestExecuteStatementCancelsAfterItsTimeout(t *testing.T) {
	fw := newFakeWorkspace(t)
	fs := &fakeStatements{t: t, submitState: "RUNNING", runningPolls: -1}
	fs.register(fw)
	_, _, _, err := collectStatement(t, fw.client(), context.Background(), Statement{WarehouseID: "wh1", SQL: "SELECT 1", Timeout: 150 * time.Millisecond})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "statement timeout of 150ms exceeded")
	assert.Equal(t, 1, fs.cancelCount())
}

func TestExecuteStatementStopsWhenCallbackFails(t *testing.T) {
	fw := newFakeWorkspace(t)
	fs := &fakeStatements{t: t, columns: columnsOf("n"), chunks: [][][]*string{{row("1")}, {row("2")}}}
	fs.register(fw)
	refused := errors.New("pipeline refused")
	err := fw.client().ExecuteStatement(context.Background(), Statement{WarehouseID: "wh1", SQL: "SELECT n FROM t"},
		func([]string, [][]*string) error { return refused })
	require.ErrorIs(t, err, refused)
	assert.Zero(t, fw.count("GET /api/2.0/sql/statements/"+fakeStatementID+"/result/chunks/1"))
}

func TestExecuteStatementRejectsOutOfOrderChunks(t *testing.T) {
	fw := newFakeWorkspace(t)
	fs := &fakeStatements{t: t, columns: columnsOf("n"), chunks: [][][]*string{{row("1")}, {row("2")}}}
	fs.register(fw)
	// The server's link for chunk 1 points at chunk 0 again.
	fw.handle("GET /api/2.0/sql/statements/{id}/result/chunks/1", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, fs.chunkBody(0))
	})
	_, _, _, err := collectStatement(t, fw.client(), context.Background(), Statement{WarehouseID: "wh1", SQL: "SELECT n FROM t"})
	require.ErrorContains(t, err, "expected result chunk 1, got 0")
}

func TestExecuteStatementRequiresWarehouse(t *testing.T) {
	fw := newFakeWorkspace(t)
	err := fw.client().ExecuteStatement(context.Background(), Statement{SQL: "SELECT 1"}, func([]string, [][]*string) error { return nil })
	require.ErrorContains(t, err, "warehouse id is required")
	assert.Zero(t, fw.count("POST /api/2.0/sql/statements"))
}
