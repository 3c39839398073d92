package databricks

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current decoder output")

// TestAuditDecodingGolden decodes the reference's example rows, as SELECT * returns them,
// and compares every field (Raw included) with the committed golden file.
func TestAuditDecodingGolden(t *testing.T) {
	input, err := os.ReadFile(filepath.Join("testdata", "system_access_audit_result.json"))
	require.NoError(t, err)
	var stmt struct {
		Manifest resultManifest `json:"manifest"`
		Result   resultChunk    `json:"result"`
	}
	require.NoError(t, json.Unmarshal(input, &stmt))
	good, bad := decodeChunk(stmt.Result.DataArray, 0, newAuditDecoder(stmt.Manifest.Schema.Columns).decode)

	type badRow struct {
		Index int
		Err   string
	}
	out := struct {
		Rows []AuditRow
		Bad  []badRow
	}{Rows: good}
	for _, b := range bad {
		out.Bad = append(out.Bad, badRow{b.Index, b.Err.Error()})
	}
	got, err := json.MarshalIndent(out, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')

	goldenPath := filepath.Join("testdata", "system_access_audit_rows.golden.json")
	if *updateGolden {
		require.NoError(t, os.WriteFile(goldenPath, got, 0o600))
	}
	want, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
	assert.Len(t, good, 4)
	assert.Len(t, bad, 1)
}
