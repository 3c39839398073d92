//go:build e2e

// Package e2e runs the built otelcol-databricks binary (OTELCOL_BINARY) against the configs we
// ship. `make test-e2e` builds the binary and sets the variable.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-databricks/otelcol-databricks/test/loopback"
)

// repoRoot is the repository root: go test runs in the package directory.
var repoRoot = filepath.Join("..", "..")

func collectorBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_BINARY")
	if bin == "" {
		t.Fatal("OTELCOL_BINARY is not set: run these tests with `make test-e2e`")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("collector binary: %v", err)
	}
	return abs
}

// runCollectorCommand runs a short-lived collector command (components, validate) and returns
// its combined output.
func runCollectorCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, collectorBinary(t), args...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freeAddress returns a loopback address with a port that was free a moment ago and that
// this test process has not handed out before.
func freeAddress(t *testing.T) string {
	t.Helper()
	addr, err := loopback.FreeAddress()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// runningCollector is a collector process started by a test; stop() ends it with SIGTERM.
type runningCollector struct {
	cmd    *exec.Cmd
	output *bytes.Buffer
	done   chan error
}

func startCollector(t *testing.T, configPath string, env ...string) *runningCollector {
	t.Helper()
	cmd := exec.Command(collectorBinary(t), "--config", configPath)
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
			t.Logf("collector output:\n%s", tail(rc.output.String(), 4000))
		}
	})
	return rc
}

// stop sends SIGTERM and waits for a clean exit.
func (rc *runningCollector) stop(t *testing.T, within time.Duration) {
	t.Helper()
	if err := rc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-rc.done:
		if err != nil {
			t.Fatalf("collector exited with %v", err)
		}
	case <-time.After(within):
		t.Fatalf("collector did not stop within %v of SIGTERM", within)
	}
}

// waitFor polls check until it returns nil or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		if last = check(); last == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %v", what, within, last)
}

func httpGet(url string) (int, string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	return resp.StatusCode, body.String(), err
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func expectStatus(url string, want int) error {
	code, body, err := httpGet(url)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("GET %s: status %d, body %q", url, code, strings.TrimSpace(tail(body, 200)))
	}
	return nil
}
