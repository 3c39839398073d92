//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
)

// shippedConfig returns the absolute path of configs/<name>, for a collector started in any
// directory.
func shippedConfig(t *testing.T, name string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(repoRoot, "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
