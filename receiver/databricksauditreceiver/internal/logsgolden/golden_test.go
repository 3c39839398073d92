package logsgolden

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func sample() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("databricks.workspace.id", "1")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(1000))
	lr.SetObservedTimestamp(pcommon.Timestamp(2000))
	lr.Attributes().PutStr("user.email", "a@example.com")
	lr.Attributes().PutInt("http.response.status_code", 200)
	lr.Body().SetEmptyMap().PutStr("k", "v")
	return ld
}

func TestRoundTripAndEqual(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x", "golden.json")
	require.NoError(t, WriteLogs(path, sample()))
	got, err := ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, CompareLogs(sample(), got))
}

func TestCompareReportsDifferences(t *testing.T) {
	changed := sample()
	lr := changed.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.Attributes().PutInt("http.response.status_code", 403)
	lr.Attributes().Remove("user.email")
	lr.Attributes().PutStr("extra", "x")
	lr.SetObservedTimestamp(pcommon.Timestamp(3000))
	lr.Body().Map().PutStr("k", "w")
	changed.ResourceLogs().At(0).Resource().Attributes().PutStr("databricks.workspace.id", "2")

	err := CompareLogs(sample(), changed)
	require.Error(t, err)
	for _, want := range []string{"http.response.status_code: expected 200", "missing user.email", "unexpected extra",
		"observed timestamp", "body", "resource 0 attributes"} {
		assert.Contains(t, err.Error(), want)
	}
	require.NoError(t, CompareLogs(sample(), func() plog.Logs {
		ld := sample()
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetObservedTimestamp(9)
		return ld
	}(), IgnoreObservedTimestamp()))

	more := sample()
	more.ResourceLogs().AppendEmpty()
	assert.ErrorContains(t, CompareLogs(sample(), more), "resource count")
}
