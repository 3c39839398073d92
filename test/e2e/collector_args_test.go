//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// noOwnTelemetry keeps a collector from opening its own telemetry port (8888 by default), which
// another collector on the machine may hold; for configs that do not make the port settable.
const noOwnTelemetry = "--set=service::telemetry::metrics::level=none"

// startCollectorWithArgs is startCollector with extra command-line arguments (e.g. --set).
func startCollectorWithArgs(t *testing.T, configPath string, args []string, env ...string) *runningCollector {
	t.Helper()
	cmd := exec.Command(collectorBinary(t), append([]string{"--config", configPath}, args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rc := &runningCollector{cmd: cmd, output: &out, done: make(chan error, 1)}
	go func() { rc.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if rc.cmd.ProcessState == nil {
			_ = rc.cmd.Process.Kill()
			<-rc.done
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", tail(rc.output.String(), 6000))
		}
	})
	return rc
}
