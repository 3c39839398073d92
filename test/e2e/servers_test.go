//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireServerBinary finds a server the tests run for real (Prometheus, Alertmanager): the
// environment variable, then PATH, then Debian's path. A missing server fails the test: CI
// installs them, so a skip would hide that a check did not run.
func requireServerBinary(t *testing.T, envVar string, candidates ...string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", envVar, p, err)
		}
		return p
	}
	for _, c := range candidates {
		if strings.ContainsRune(c, os.PathSeparator) {
			if _, err := os.Stat(c); err == nil {
				return c
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v found (nor $%s): run .ci/run, which installs the test servers, or install them with apt-get",
		candidates, envVar)
	return ""
}

// lineLog collects a process's output and lets a test wait for a line.
type lineLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLineLog(r io.Reader) *lineLog {
	l := &lineLog{lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.buf.WriteString(sc.Text())
			l.buf.WriteByte('\n')
			l.mu.Unlock()
			select {
			case l.lines <- sc.Text():
			default: // nobody waits for lines any more; the buffer keeps them
			}
		}
		close(l.lines)
	}()
	return l
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitForPrefix returns the rest of the first line that starts with prefix.
func (l *lineLog) waitForPrefix(t *testing.T, prefix string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("process ended before printing %q:\n%s", prefix, tail(l.String(), 3000))
			}
			if strings.HasPrefix(line, prefix) {
				return strings.TrimPrefix(line, prefix)
			}
		case <-deadline:
			t.Fatalf("no line %q within %v:\n%s", prefix, within, tail(l.String(), 3000))
		}
	}
}

// serverProcess is a helper process (simulator, Prometheus, Alertmanager) stopped with SIGTERM
// when the test ends.
type serverProcess struct {
	name string
	cmd  *exec.Cmd
	log  *lineLog
	done chan struct{}
}

func startServerProcess(t *testing.T, name string, bin string, args ...string) *serverProcess {
	t.Helper()
	return startServerProcessEnv(t, name, nil, bin, args...)
}

// startServerProcessEnv is startServerProcess with extra environment variables.
func startServerProcessEnv(t *testing.T, name string, env []string, bin string, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &serverProcess{name: name, cmd: cmd, log: newLineLog(pr), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.log.String(), 3000))
		}
	})
	return p
}
