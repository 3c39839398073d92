//go:build reliability

package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// simToken is the simulator's default personal access token.
const simToken = "dapi-simulator-token"

var simBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// simulatorBinary builds cmd/databricks-sim once per test run.
func simulatorBinary(t *testing.T) string {
	t.Helper()
	simBuild.once.Do(func() {
		simBuild.path = filepath.Join(scratchDir, "databricks-sim")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", simBuild.path, "./cmd/databricks-sim")
		cmd.Dir = repoRoot
		simBuild.out, simBuild.err = cmd.CombinedOutput()
	})
	if simBuild.err != nil {
		t.Fatalf("go build ./cmd/databricks-sim: %v\n%s", simBuild.err, simBuild.out)
	}
	return simBuild.path
}

// simulator is a running databricks-sim serving its APIs on a free loopback port.
type simulator struct {
	url   string
	token string // the personal access token it accepts
	proc  *process
}

// startSimulator runs databricks-sim with args (scenario, speedup, ...) and waits until it
// serves.
func startSimulator(t *testing.T, args ...string) *simulator {
	t.Helper()
	p := startProcess(t, "databricks-sim", simulatorBinary(t), nil, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	var url string
	waitFor(t, 2*time.Minute, "simulator listening", func() error {
		if p.exited() {
			t.Fatalf("simulator exited: %v\n%s", p.err, p.output.String())
		}
		for _, line := range strings.Split(p.output.String(), "\n") {
			if i := strings.Index(line, "listening on "); i >= 0 {
				url = strings.TrimSpace(line[i+len("listening on "):])
				return nil
			}
		}
		return fmt.Errorf("no 'listening on' line yet")
	})
	token := simToken
	for i, a := range args {
		if a == "--token" && i+1 < len(args) {
			token = args[i+1]
		}
	}
	return &simulator{url: url, token: token, proc: p}
}

func (s *simulator) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	mustf(t, err, "request %s", path)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	mustf(t, err, "GET %s", path)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	mustf(t, json.NewDecoder(resp.Body).Decode(v), "decode %s", path)
}

// simClock is GET /sim/clock.
type simClock struct {
	Now   time.Time `json:"now"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (s *simulator) clock(t *testing.T) simClock {
	t.Helper()
	var c simClock
	s.getJSON(t, "/sim/clock", &c)
	return c
}

// simStats is the part of GET /sim/stats the tests read.
type simStats struct {
	Requests     map[string]int64 `json:"requests"`
	Responses    map[string]int64 `json:"responses"`
	Faults       map[string]int64 `json:"faults"`
	Unauthorized int64            `json:"unauthorized"`
	Statements   int64            `json:"statements"`
}

func (s *simulator) stats(t *testing.T) simStats {
	t.Helper()
	var st simStats
	s.getJSON(t, "/sim/stats", &st)
	return st
}

// setFaults replaces the simulator's fault rules (PUT /sim/faults; an empty list clears them).
func (s *simulator) setFaults(t *testing.T, rulesJSON string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.url+"/sim/faults", strings.NewReader(rulesJSON))
	mustf(t, err, "PUT /sim/faults")
	resp, err := http.DefaultClient.Do(req)
	mustf(t, err, "PUT /sim/faults")
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT /sim/faults %s: status %d", rulesJSON, resp.StatusCode)
	}
}

func (s *simulator) warehouseID(t *testing.T) string {
	t.Helper()
	var list struct {
		Warehouses []struct {
			ID string `json:"id"`
		} `json:"warehouses"`
	}
	s.getJSON(t, "/api/2.0/sql/warehouses", &list)
	if len(list.Warehouses) == 0 {
		t.Fatal("the simulator lists no SQL warehouse")
	}
	return list.Warehouses[0].ID
}

// awaitTimelineEnd waits (up to timeout) until the simulated clock has reached the scenario's end.
func (s *simulator) awaitTimelineEnd(t *testing.T, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "the simulated timeline to end", func() error {
		if c := s.clock(t); c.Now.Before(c.End) {
			return fmt.Errorf("simulator at %s, ends %s", c.Now, c.End)
		}
		return nil
	})
}
