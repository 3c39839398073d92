// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files")

// TestGoldenFindings pins the complete finding records (every attribute,
// severity, body) of a mixed attack on alice after three weeks of history.
func TestGoldenFindings(t *testing.T) {
	eventSeq = 0
	h := newHarness(t, func(c *Config) { c.Lists = map[string][]string{"sensitive_tables": {"main.hr.*"}} })
	stream := append(history(base, 20, 12, a{}), attackStream(base.Add(20*day))...)
	findings := h.feed(stream...)
	require.NotEmpty(t, findings)

	out := plog.NewLogs()
	sl := out.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, f := range findings {
		lr := sl.LogRecords().AppendEmpty()
		f.CopyTo(lr)
		lr.SetObservedTimestamp(0) // wall clock
	}
	raw, err := (&plog.JSONMarshaler{}).MarshalLogs(out)
	require.NoError(t, err)
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, raw, "", "  "))
	path := filepath.Join("testdata", "golden", "findings.json")
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o600))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestGoldenFindings -update to create it")
	assert.JSONEq(t, string(want), pretty.String())
	_ = time.Second
}
