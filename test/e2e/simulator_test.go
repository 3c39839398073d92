//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// demoSimulation is the live demo workspace as scripts/demo.sh runs it: started three hours back,
// so that the scenario's first attacks are in the audit log the receiver reads on its first poll
// (it reads up to the wall clock, while the simulation runs ahead of it), with clusters and jobs
// changing 60 times faster than real time.
var demoSimulation = []string{"--scenario", "configs/sim/demo.yaml", "--start", "now-3h", "--speedup", "60"}

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
	url string
}

// startSimulator runs databricks-sim with args (scenario, speedup, ...) and waits until it
// serves.
func startSimulator(t *testing.T, args ...string) *simulator {
	t.Helper()
	p := startServerProcess(t, "databricks-sim", simulatorBinary(t), append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	url := p.log.waitForPrefix(t, "listening on ", 2*time.Minute)
	return &simulator{url: url}
}

// getJSON reads one simulator API answer.
func (s *simulator) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+simToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// simCluster is the part of a clusters/list entry the tests compare metrics with.
type simCluster struct {
	ID         string            `json:"cluster_id"`
	Name       string            `json:"cluster_name"`
	State      string            `json:"state"`
	NumWorkers int64             `json:"num_workers"`
	Executors  []json.RawMessage `json:"executors"`
	Autoscale  *struct {
		Min int64 `json:"min_workers"`
		Max int64 `json:"max_workers"`
	} `json:"autoscale"`
	CoresCount float64 `json:"cluster_cores"`
	MemoryMB   int64   `json:"cluster_memory_mb"`
}

// expectedWorkers is what the databricks receiver reports as databricks.cluster.workers, by
// `kind` (receiver/databricksreceiver README).
func (c simCluster) expectedWorkers() map[string]int64 {
	want := map[string]int64{"current": int64(len(c.Executors)), "target": c.NumWorkers}
	if c.Autoscale != nil {
		want["autoscale_min"] = c.Autoscale.Min
		want["autoscale_max"] = c.Autoscale.Max
	}
	return want
}

func (s *simulator) clusters(t *testing.T) []simCluster {
	t.Helper()
	var all []simCluster
	token := ""
	for {
		var page struct {
			Clusters      []simCluster `json:"clusters"`
			NextPageToken string       `json:"next_page_token"`
		}
		s.getJSON(t, "/api/2.1/clusters/list?page_size=100&page_token="+token, &page)
		all = append(all, page.Clusters...)
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	if len(all) == 0 {
		t.Fatal("the simulator lists no clusters")
	}
	return all
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

// groundTruth is GET /sim/truth: which rule should fire for whom.
type groundTruth struct {
	WorkspaceID  string `json:"workspace_id"`
	Expectations []struct {
		Rule     string `json:"rule"`
		Identity string `json:"identity"`
	} `json:"expectations"`
}

func (s *simulator) truth(t *testing.T) groundTruth {
	t.Helper()
	var gt groundTruth
	s.getJSON(t, "/sim/truth", &gt)
	return gt
}

// env returns the connection variables every shipped config reads.
func (s *simulator) env(t *testing.T) []string {
	t.Helper()
	return []string{
		"DATABRICKS_HOST=" + s.url,
		"DATABRICKS_TOKEN=" + simToken,
		"DATABRICKS_WAREHOUSE_ID=" + s.warehouseID(t),
		// the token wins; keep a developer's own OAuth variables out of the way
		"DATABRICKS_CLIENT_ID=",
		"DATABRICKS_CLIENT_SECRET=",
	}
}
