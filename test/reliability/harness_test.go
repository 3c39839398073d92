//go:build reliability

package reliability

// The process harness. test/e2e has the same kind of helpers, but in _test.go files of
// another package, which Go cannot import; these are kept to what this suite needs (SIGKILL,
// exit codes, port checks) on top of that.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
		t.Fatal("OTELCOL_BINARY is not set: run with `make test-reliability` (or set it to bin/otelcol-databricks)")
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

// requireComponents fails the test when the binary lacks a component the test runs, naming
// it, so a stale binary is not mistaken for a defect.
func requireComponents(t *testing.T, names ...string) {
	t.Helper()
	out, err := runCollectorCommand(t, nil, "components")
	if err != nil {
		t.Fatalf("components: %v\n%s", err, out)
	}
	for _, n := range names {
		if !strings.Contains(out, "- name: "+n+"\n") {
			t.Fatalf("the collector binary has no component %q: rebuild it (make build)", n)
		}
	}
}

// runCollectorCommand runs a short-lived collector command (validate, print-config, ...) and
// returns its combined output.
func runCollectorCommand(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, collectorBinary(t), args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// syncBuffer is a bytes.Buffer written by a process and read by the test concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a child process started by a test; it is killed at cleanup if still running.
type process struct {
	name   string
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	err    error // valid after done is closed
}

func startProcess(t *testing.T, name, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, output: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, tail(out.String(), 6000))
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T, within time.Duration) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s exited early: %v", p.name, p.err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("%s exited with %v after SIGTERM", p.name, p.err)
		}
	case <-time.After(within):
		t.Fatalf("%s did not stop within %v of SIGTERM", p.name, within)
	}
}

// waitExit waits for the process to end by itself and returns its exit code.
func (p *process) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("%s still running after %v", p.name, within)
		return 0
	}
}

func startCollector(t *testing.T, configPath string, env ...string) *process {
	t.Helper()
	return startProcess(t, "collector", collectorBinary(t), env, "--config", configPath)
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

// listening reports whether something accepts TCP connections on addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
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

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func mustf(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
