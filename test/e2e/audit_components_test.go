//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// auditComponents are the components the audit pipelines of the shipped configs need.
var auditComponents = []struct{ kind, name, importPath string }{
	{"receivers", "databricks_audit", "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver"},
	{"processors", "access_anomaly", "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor"},
}

var binaryComponentsCache struct {
	once   sync.Once
	listed componentsOutput
	err    error
	out    string
}

// requireAuditComponents fails a test when the binary lacks the databricks_audit receiver or
// the access_anomaly processor: a stale binary (builder-config.yaml lists them) must be rebuilt,
// and a distribution without them cannot run the shipped configs.
func requireAuditComponents(t *testing.T) {
	t.Helper()
	c := &binaryComponentsCache
	c.once.Do(func() {
		c.out, c.err = runCollectorCommand(t, "components")
		if c.err == nil {
			c.err = yaml.Unmarshal([]byte(c.out), &c.listed)
		}
	})
	if c.err != nil {
		t.Fatalf("components: %v\n%s", c.err, c.out)
	}
	manifest, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]listedComponent{"receivers": c.listed.Receivers, "processors": c.listed.Processors}
	for _, ac := range auditComponents {
		inBinary := false
		for _, lc := range byKind[ac.kind] {
			inBinary = inBinary || lc.Name == ac.name
		}
		switch {
		case inBinary:
		case strings.Contains(string(manifest), ac.importPath):
			t.Fatalf("builder-config.yaml lists %s but the binary has no %s %q: rebuild it (make build)", ac.importPath, ac.kind, ac.name)
		default:
			t.Fatalf("the distribution has no %s %q: add %s to builder-config.yaml", ac.kind, ac.name, ac.importPath)
		}
	}
}
