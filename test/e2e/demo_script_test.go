//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoScript runs scripts/demo.sh (what `make run` runs) with every port moved: it must show
// a status line with the workspace's clusters and print findings within a minute or so, and stop the simulator, the printer and the collector on Ctrl-C (SIGINT),
// exiting 0.
func TestDemoScript(t *testing.T) {
	env, _, promAddr, _, outDir := demoEnv(t)
	simAddr, printerAddr := freeAddress(t), freeAddress(t)
	env = append(env,
		"OTELCOL_BINARY="+collectorBinary(t),
		"DEMO_SIM_ADDR="+simAddr,
		"DEMO_PRINTER_ADDR="+printerAddr,
		"DEMO_ALERTMANAGER=http://"+freeAddress(t), // nobody answers: webhook only
		"DEMO_STATUS_EVERY=2",
		"DEMO_COLLECTION_INTERVAL=2s",
		"DEMO_AUDIT_POLL_INTERVAL=2s",
		"DATABRICKS_TOKEN=",
	)
	p := startServerProcessEnv(t, "demo.sh", env, "bash", "scripts/demo.sh")

	waitFor(t, 3*time.Minute, "a status line that counts the clusters", func() error {
		for _, line := range strings.Split(p.log.String(), "\n") {
			if i := strings.Index(line, "clusters: "); strings.HasPrefix(line, "status ") && i > 0 &&
				!strings.HasPrefix(line[i+len("clusters: "):], "0 ") {
				return nil
			}
		}
		return fmt.Errorf("no status line with clusters yet:\n%s", tail(p.log.String(), 1000))
	})
	waitFor(t, 60*time.Second, "a finding printed on the console", func() error {
		if !strings.Contains(p.log.String(), " DBX-") {
			return fmt.Errorf("no finding line yet")
		}
		return nil
	})
	if _, err := os.Stat(outDir + "/metrics.json"); err != nil {
		t.Errorf("demo output: %v", err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("demo.sh did not stop within 30 s of SIGINT")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("demo.sh exited with %d after SIGINT", code)
	}
	for _, addr := range []string{simAddr, printerAddr, promAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after the demo stopped", addr)
		}
	}
}
