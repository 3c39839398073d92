//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	simengine "github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// crashScenario is a busy little workspace; its timeline starts at the wall clock so that the
// system table and the delivery files fill in real time while the collector is killed. Its users
// keep the hours of a weekday afternoon whenever the test runs (activity_shift): at night or at
// a weekend the same scenario produced a handful of events (5 in 5 minutes at 05:20 UTC).
func crashScenario() string {
	return crashScenarioBase + fmt.Sprintf("activity_shift: %s\n", simengine.BusyShift(time.Now()))
}

const crashScenarioBase = `name: crash
seed: 11
users: 40
service_principals: 2
rate: 30
clusters: 2
jobs: 2
runs_per_job_per_day: 2
warehouses: 1
delivery: {interval: 10s, late_fraction: 0.05, late_by: 15s}
`

// simulatorStreamArgs start a live simulator whose timeline began 4 minutes ago (a backlog,
// visible at once) and continues in real time for stream. The simulator delivers an object
// 30 s to 3 min after its interval, so the backlog is what keeps delivery files arriving from
// the first second; its clock equals the wall clock, so system-table rows appear as they would.
func simulatorStreamArgs(scenario, deliveryDir string, stream time.Duration) []string {
	now := time.Now().UTC()
	if now.Second() >= 57 { // a now-based start is truncated to the minute when the simulator starts
		time.Sleep(4 * time.Second)
		now = time.Now().UTC()
	}
	start := now.Truncate(time.Minute).Add(-4 * time.Minute)
	duration := now.Sub(start) + stream
	return []string{"--scenario", scenario, "--start", "now-4m", "--duration", duration.Round(time.Second).String(),
		"--speedup", "1", "--tick", "500ms", "--delivery-dir", deliveryDir}
}

// crashConfig reads both audit sources with checkpoints and writes each to its own file sink.
// The file exporter is given a rotation policy because that makes it write unbuffered: without
// one it keeps up to flush_interval (1 s) of accepted records in a bufio buffer, which a
// SIGKILL loses (see RELIABILITY.md).
func crashConfig(simURL, warehouseID, deliveryDir, stateDir, sinkDir string, ports collectorPorts) string {
	return withFileStorage(fmt.Sprintf(`receivers:
  databricks_audit/delivery:
    source: delivery
    storage: file_storage
    delivery:
      url: file://%s
      poll_interval: 1s
  databricks_audit/table:
    source: system_table
    endpoint: %s
    token: %s
    storage: file_storage
    system_table:
      warehouse_id: %s
      poll_interval: 2s
      initial_lookback: 1h
      overlap: 1m
      delay: 1s
exporters:
  file/delivery:
    path: %s
    rotation: {max_megabytes: 1024}
  file/table:
    path: %s
    rotation: {max_megabytes: 1024}
`, deliveryDir, simURL, simToken, warehouseID,
		filepath.Join(sinkDir, "delivery.jsonl"), filepath.Join(sinkDir, "table.jsonl"))+
		strings.Replace(ports.serviceYAML("databricks_audit/delivery", "", "file/delivery"),
			"  pipelines:\n", "  pipelines:\n    logs/table:\n      receivers: [databricks_audit/table]\n      exporters: [file/table]\n", 1), stateDir)
}

// TestCrashSafetyUnderSIGKILL kills the collector at random moments while the simulator
// streams audit events, restarts it each time, and then compares what reached the sinks with
// every event the simulator produced.
func TestCrashSafetyUnderSIGKILL(t *testing.T) {
	requireComponents(t, "databricks_audit", "file", "file_storage")
	kills, stream := 3, 60*time.Second
	if fullRun() {
		kills, stream = 10, 4*time.Minute
	}
	dir := t.TempDir()
	deliveryDir := filepath.Join(dir, "audit")
	stateDir := filepath.Join(dir, "state")
	sinkDir := filepath.Join(dir, "sink")
	for _, d := range []string{deliveryDir, sinkDir} {
		mustf(t, os.MkdirAll(d, 0o700), "mkdir")
	}
	scenario := writeFile(t, dir, "crash.yaml", crashScenario())
	sim := startSimulator(t, simulatorStreamArgs(scenario, deliveryDir, stream)...)
	warehouse := sim.warehouseID(t)
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "collector.yaml", crashConfig(sim.url, warehouse, deliveryDir, stateDir, sinkDir, ports))

	began := time.Now()
	p := startCollector(t, cfg)
	p = killAndRestart(t, p, cfg, began, killSchedule(t, kills, stream))

	// Let the stream end, then give the collector time to read the rest.
	sim.awaitTimelineEnd(t, stream+time.Minute)
	time.Sleep(3 * time.Second) // the last delivery tick
	clk := sim.clock(t)
	wantDelivery := deliveredEvents(t, deliveryDir)
	wantTable := tableEvents(t, sim, warehouse, clk.Start.Add(-time.Hour), clk.End.Add(time.Hour))
	if wantDelivery.total() < 100 || wantTable.total() < 100 {
		t.Fatalf("the simulator produced too little to judge: %d delivery lines, %d table rows", wantDelivery.total(), wantTable.total())
	}
	caughtUp := func() error {
		for _, s := range []struct {
			name string
			want eventCounts
		}{{"delivery", wantDelivery}, {"table", wantTable}} {
			got, _ := sinkEvents(t, filepath.Join(sinkDir, s.name+".jsonl"))
			if r := compareEvents(s.want, got); r.lost > 0 {
				return fmt.Errorf("%s: %v", s.name, r)
			}
		}
		return nil
	}
	deadline := time.Now().Add(90 * time.Second)
	for caughtUp() != nil && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	p.stop(t, 30*time.Second)

	for _, s := range []struct {
		name string
		want eventCounts
	}{{"delivery", wantDelivery}, {"table", wantTable}} {
		got, torn := sinkEvents(t, filepath.Join(sinkDir, s.name+".jsonl"))
		r := compareEvents(s.want, got)
		maxBatch := largestSinkBatch(t, filepath.Join(sinkDir, s.name+".jsonl"))
		t.Logf("RESULT crash-safety source=%s kills=%d: %v; torn sink lines %d; largest batch %d",
			s.name, kills, r, torn, maxBatch)
		if r.lost > 0 {
			t.Errorf("%s: %d events lost after %d SIGKILLs (first ids %v)", s.name, r.lost, kills, r.lostIDs[:min(5, len(r.lostIDs))])
		}
		// Each kill can repeat at most the batch that was in flight (written to the sink, its
		// checkpoint not yet saved).
		if r.duplicated > kills*maxBatch {
			t.Errorf("%s: %d duplicates after %d kills, more than one batch (max %d records) per kill", s.name, r.duplicated, kills, maxBatch)
		}
	}
}

// largestSinkBatch is the most log records one exporter call wrote (one line of the sink).
func largestSinkBatch(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	mustf(t, err, "read sink")
	most := 0
	for _, line := range strings.Split(string(data), "\n") {
		if n := strings.Count(line, `"observedTimeUnixNano"`); n > most {
			most = n
		}
	}
	return most
}
