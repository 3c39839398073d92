package simulator

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenEvent exercises every rendering detail: NULLs, a port suffix, JSON-encoded params and
// characters that must not be HTML-escaped.
func goldenEvent() AuditEvent {
	return AuditEvent{
		Time: time.Date(2026, 1, 5, 10, 0, 0, 123e6, time.UTC), WorkspaceID: "4839201746501234", OrgID: "4839201746501234",
		AccountID: "0b6f3a7e-1c2d-4e5f-8a9b-112233445566", ShardName: "oregon-prod-12", AuditLevel: WorkspaceLevel,
		ServiceName: "secrets", ActionName: "getSecret", Email: "mallory@example.com", SourceIP: "198.51.100.77:0",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", SessionID: "", RequestID: "b3c4d5e6-1111-4222-8333-444455556666",
		RequestParams: map[string]string{"scope": "prod-db", "key": "admin-password", "note": `<a&b> "q"`},
		StatusCode:    403, ErrorMessage: "User does not have READ permission on scope prod-db",
		EventID: "4f3a9c1e0b7d2e6f8a1c3e5b7d9f0a21", RunBy: "mallory@example.com",
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.Equal(t, string(want), string(got))
}

func TestGoldenRenderings(t *testing.T) {
	e := goldenEvent()
	checkGolden(t, "delivery_line.json", append(e.DeliveryLine(), '\n'))
	ws := DefaultScenario().Workspace
	checkGolden(t, "azure_record_strings.json", append(e.AzureRecord(AzureResourceID(ws), false), '\n'))
	checkGolden(t, "azure_record_objects.json", append(e.AzureRecord(AzureResourceID(ws), true), '\n'))

	// The system-table row as the Statement Execution API returns it (SELECT *).
	q, err := ParseSQL("SELECT * FROM system.access.audit")
	require.NoError(t, err)
	rs, err := Execute(q, auditTable([]AuditEvent{e}, e.Time), nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	buf.Write(marshalNoEscape(rs.Rows))
	buf.WriteByte('\n')
	checkGolden(t, "system_table_row.json", buf.Bytes())
}

func TestLiveClock(t *testing.T) {
	wall := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := wall
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	clock := LiveClock(start, start.Add(2*time.Hour), 60, func() time.Time { return now })
	assert.Equal(t, start, clock())
	now = wall.Add(30 * time.Second)
	assert.Equal(t, start.Add(30*time.Minute), clock())
	now = wall.Add(time.Hour)
	assert.Equal(t, start.Add(2*time.Hour), clock(), "stops at the end of the timeline")
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute,
		"0.5d": 12 * time.Hour, "": 0} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got.D(), in)
	}
	for _, bad := range []string{"d", "xd", "1d1x", "soon"} {
		_, err := ParseDuration(bad)
		assert.Error(t, err, bad)
	}
}

func TestPageTokens(t *testing.T) {
	for _, n := range []int{0, 1, 250} {
		got, ok := decodePageToken(encodePageToken(n))
		assert.True(t, ok)
		assert.Equal(t, n, got)
	}
	for _, bad := range []string{"!!", "b2Zmc2V0Oi0x" /* offset:-1 */, "aGVsbG8" /* hello */} {
		_, ok := decodePageToken(bad)
		assert.False(t, ok, bad)
	}
}
