//go:build reliability

// Package reliability runs the built otelcol-databricks binary (OTELCOL_BINARY) through bad
// configurations, secret-leak checks, crashes, API faults and hostile input, with the workspace
// simulator as the Databricks side. `make test-reliability` runs the full suite; `-short` (or
// no RELIABILITY_FULL) keeps each test at its quick size. See RELIABILITY.md.
package reliability

import (
	"fmt"
	"os"
	"testing"
)

// scratchDir holds what the tests build once per run (the simulator binary).
var scratchDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otelcol-databricks-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	scratchDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// fullRun reports whether the long versions run (RELIABILITY_FULL=1 and not -short).
func fullRun() bool {
	return os.Getenv("RELIABILITY_FULL") == "1" && !testing.Short()
}
