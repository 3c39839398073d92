//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"testing"
)

// scratchDir holds what the tests build once per run (the simulator binary); it is removed
// after the last test.
var scratchDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otelcol-databricks-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	scratchDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
