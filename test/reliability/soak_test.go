//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// soakDuration: 5 minutes by default, 1 hour with RELIABILITY_FULL=1, or
// RELIABILITY_SOAK_DURATION (a Go duration).
func soakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("RELIABILITY_SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		mustf(t, err, "RELIABILITY_SOAK_DURATION")
		return d
	}
	if fullRun() {
		return time.Hour
	}
	return 5 * time.Minute
}

// rssBytes is the resident set size of a process (Linux /proc).
func rssBytes(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// goroutines reads the goroutine count from the pprof extension.
func goroutines(t *testing.T, pprofAddr string) int {
	t.Helper()
	_, body := get(t, "http://"+pprofAddr+"/debug/pprof/goroutine?debug=1")
	// first line: "goroutine profile: total N"
	first, _, _ := strings.Cut(body, "\n")
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(first, "goroutine profile: total")))
	mustf(t, err, "goroutine profile header %q", first)
	return n
}

// TestSoak runs both audit sources and the databricks receiver against a steady stream for the
// soak duration and checks completeness, that no duplicate appears without a crash, and that
// memory and goroutines stay flat after warm-up.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs in make test-reliability, not in the quick subset")
	}
	requireComponents(t, "databricks_audit", "databricks", "file", "file_storage", "pprof")
	soak := soakDuration(t)
	dir := t.TempDir()
	deliveryDir := filepath.Join(dir, "audit")
	sinkDir := filepath.Join(dir, "sink")
	for _, d := range []string{deliveryDir, sinkDir} {
		mustf(t, os.MkdirAll(d, 0o700), "mkdir")
	}
	scenario := writeFile(t, dir, "soak.yaml", crashScenario)
	sim := startSimulator(t, simulatorStreamArgs(scenario, deliveryDir, soak)...)
	warehouse := sim.warehouseID(t)
	ports := newCollectorPorts(t)
	pprofAddr := freeAddress(t)
	cfg := crashConfig(sim.url, warehouse, deliveryDir, filepath.Join(dir, "state"), sinkDir, ports)
	cfg = withExtension(cfg, "pprof", "    endpoint: "+pprofAddr+"\n")
	cfg = strings.Replace(cfg, "receivers:\n", fmt.Sprintf(`receivers:
  databricks:
    endpoint: %s
    token: %s
    storage: file_storage
    collection_interval: 10s
    initial_delay: 0s
`, sim.url, simToken), 1)
	cfg = strings.Replace(cfg, "exporters:\n", "exporters:\n  file/dbx:\n    path: "+filepath.Join(sinkDir, "dbx.jsonl")+"\n    rotation: {max_megabytes: 1024}\n", 1)
	cfg = strings.Replace(cfg, "  pipelines:\n", "  pipelines:\n    metrics/dbx:\n      receivers: [databricks]\n      exporters: [file/dbx]\n    logs/dbx:\n      receivers: [databricks]\n      exporters: [file/dbx]\n", 1)
	cfgPath := writeFile(t, dir, "collector.yaml", cfg)
	p := startCollector(t, cfgPath)
	pid := p.cmd.Process.Pid

	warmup := min(time.Minute, soak/4)
	time.Sleep(warmup)
	rss0, err := rssBytes(pid)
	mustf(t, err, "rss")
	g0 := goroutines(t, pprofAddr)
	peak := rss0
	for end := time.Now().Add(soak - warmup); time.Now().Before(end); time.Sleep(5 * time.Second) {
		if p.exited() {
			t.Fatalf("the collector exited during the soak: %v", p.err)
		}
		if r, err := rssBytes(pid); err == nil && r > peak {
			peak = r
		}
	}
	waitFor(t, 2*time.Minute, "the simulated timeline to end", func() error {
		if c := sim.clock(t); c.Now.Before(c.End) {
			return fmt.Errorf("simulator at %s, ends %s", c.Now, c.End)
		}
		return nil
	})
	time.Sleep(3 * time.Second)
	clk := sim.clock(t)
	wants := map[string]eventCounts{
		"delivery": deliveredEvents(t, deliveryDir),
		"table":    tableEvents(t, sim, warehouse, clk.Start.Add(-time.Hour), clk.End.Add(time.Hour)),
	}
	reports := map[string]deliveryReport{}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lost := 0
		for name, want := range wants {
			got, _ := sinkEvents(t, filepath.Join(sinkDir, name+".jsonl"))
			reports[name] = compareEvents(want, got)
			lost += reports[name].lost
		}
		if lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	rss1, err := rssBytes(pid)
	mustf(t, err, "rss")
	g1 := goroutines(t, pprofAddr)
	p.stop(t, 30*time.Second)

	t.Logf("RESULT soak %v: delivery %v; table %v; RSS after warm-up %d MiB, peak %d MiB, end %d MiB; goroutines %d -> %d",
		soak, reports["delivery"], reports["table"], rss0>>20, peak>>20, rss1>>20, g0, g1)
	for name, r := range reports {
		if r.lost > 0 || r.duplicated > 0 {
			t.Errorf("%s: %v without any crash", name, r)
		}
	}
	if rss1 > rss0*3/2+32<<20 {
		t.Errorf("RSS grew from %d MiB after warm-up to %d MiB at the end", rss0>>20, rss1>>20)
	}
	if g1 > g0+20 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if dbx, err := os.ReadFile(filepath.Join(sinkDir, "dbx.jsonl")); err != nil || !strings.Contains(string(dbx), "databricks.job.runs") {
		t.Errorf("the databricks receiver wrote no job metrics during the soak (err %v)", err)
	}
}
