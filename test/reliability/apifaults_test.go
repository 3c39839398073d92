//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// faultPhase is one storm: every API path answers with the fault for the phase's duration.
type faultPhase struct {
	kind    string
	rule    string   // PUT /sim/faults body
	markers []string // a warning about this fault names one of these
}

var faultPhases = []faultPhase{
	{kind: "429 with Retry-After", rule: `[{"path":"*","kind":"429-retry-after","retry_after":2000000000}]`, markers: []string{"429"}},
	{kind: "429 without Retry-After", rule: `[{"path":"*","kind":"429"}]`, markers: []string{"429"}},
	{kind: "500", rule: `[{"path":"*","kind":"500"}]`, markers: []string{"500"}},
	{kind: "503", rule: `[{"path":"*","kind":"503"}]`, markers: []string{"503"}},
	{kind: "truncated JSON", rule: `[{"path":"*","kind":"truncated"}]`,
		markers: []string{"truncated", "unexpected EOF", "unexpected end", "invalid character", "JSON", "json", "decode"}},
	// Retried GETs of the databricks receiver: the storm is absorbed by retries, so only a
	// counter or a warning can tell the operator the API is failing.
	{kind: "500 on cluster reads", rule: `[{"path":"/api/2.1/clusters","kind":"500"},{"path":"/api/2.0/clusters","kind":"500"}]`, markers: []string{"500"}},
	{kind: "401 expired token", rule: `[{"path":"*","kind":"expired-token"}]`, markers: []string{"401", "UNAUTHENTICATED", "expired"}},
}

const faultRate = 5 // max_requests_per_second of each receiver under test

func faultsConfig(simURL, warehouseID, stateDir, sinkDir string, ports collectorPorts) string {
	return withFileStorage(fmt.Sprintf(`receivers:
  databricks_audit/table:
    source: system_table
    endpoint: %s
    token: %s
    storage: file_storage
    max_requests_per_second: %d
    system_table:
      warehouse_id: %s
      poll_interval: 2s
      initial_lookback: 1h
      overlap: 2m
      delay: 1s
  databricks:
    endpoint: %s
    token: %s
    storage: file_storage
    max_requests_per_second: %d
    collection_interval: 3s
    initial_delay: 0s
exporters:
  file/table:
    path: %s
    rotation: {max_megabytes: 1024}
  file/dbx:
    path: %s
    rotation: {max_megabytes: 1024}
`, simURL, simToken, faultRate, warehouseID, simURL, simToken, faultRate,
		filepath.Join(sinkDir, "table.jsonl"), filepath.Join(sinkDir, "dbx.jsonl"))+
		strings.Replace(ports.serviceYAML("databricks_audit/table", "", "file/table"),
			"  pipelines:\n", "  pipelines:\n    logs/dbx:\n      receivers: [databricks]\n      exporters: [file/dbx]\n    metrics/dbx:\n      receivers: [databricks]\n      exporters: [file/dbx]\n", 1), stateDir)
}

// isProblemLine reports whether a console-encoded collector log line is a warning or error.
func isProblemLine(line string) bool {
	return strings.Contains(line, "\twarn\t") || strings.Contains(line, "\terror\t")
}

// TestAPIFaultStorms runs the receivers through storms of each fault kind, then checks that
// they are still up, kept to their request rate, logged each fault without flooding, and
// delivered every audit row once the faults stopped.
func TestAPIFaultStorms(t *testing.T) {
	requireComponents(t, "databricks_audit", "databricks", "file", "file_storage")
	phase := 10 * time.Second
	if fullRun() {
		phase = time.Minute
	}
	stream := time.Duration(len(faultPhases)+2)*phase + time.Duration(len(faultPhases))*phase/2

	dir := t.TempDir()
	sinkDir := filepath.Join(dir, "sink")
	mustf(t, os.MkdirAll(sinkDir, 0o700), "mkdir")
	scenario := writeFile(t, dir, "faults.yaml", crashScenario)
	sim := startSimulator(t, simulatorStreamArgs(scenario, filepath.Join(dir, "audit"), stream)...)
	warehouse := sim.warehouseID(t)
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "collector.yaml", faultsConfig(sim.url, warehouse, filepath.Join(dir, "state"), sinkDir, ports))
	p := startCollector(t, cfg)

	totalRequests := func() int64 {
		var n int64
		for _, v := range sim.stats(t).Requests {
			n += v
		}
		return n
	}
	baseFrom, baseAt := totalRequests(), time.Now()
	time.Sleep(phase) // a clean baseline first
	t.Logf("RESULT api-faults baseline: %.0f requests/min without faults",
		float64(totalRequests()-baseFrom)/time.Since(baseAt).Minutes())
	faultsServed := func() int64 {
		var n int64
		for _, v := range sim.stats(t).Faults {
			n += v
		}
		return n
	}
	// Counters that show a storm without a log line: the audit receiver's throttles and the
	// databricks receiver's failed sources.
	throttles := func() float64 {
		return scrapeCounter(t, ports.telemetry, "otelcol_databricks_audit_api_throttles") +
			scrapeCounter(t, ports.telemetry, "otelcol_databricks_source_failures")
	}
	for _, ph := range faultPhases {
		// Each storm starts from a healthy state (no receiver still backing off from the last).
		time.Sleep(phase / 2)
		logBefore := len(p.output.String())
		reqBefore, faultsBefore, throttlesBefore := totalRequests(), faultsServed(), throttles()
		sim.setFaults(t, ph.rule)
		began := time.Now()
		time.Sleep(phase)
		sim.setFaults(t, `[]`)
		elapsed := time.Since(began)
		served := faultsServed() - faultsBefore
		throttled := throttles() - throttlesBefore
		if p.exited() {
			t.Fatalf("the collector exited during the %s storm: %v", ph.kind, p.err)
		}
		perMinute := float64(totalRequests()-reqBefore) / elapsed.Minutes()
		var problems []string
		for _, line := range strings.Split(p.output.String()[logBefore:], "\n") {
			if isProblemLine(line) {
				problems = append(problems, line)
			}
		}
		named := 0
		for _, line := range problems {
			for _, m := range ph.markers {
				if strings.Contains(line, m) {
					named++
					break
				}
			}
		}
		// One warning per failed poll or collection cycle at most, never one per retry attempt.
		maxLines := int(elapsed/(2*time.Second)) + int(elapsed/(3*time.Second)) + 4
		t.Logf("RESULT api-faults kind=%q: %d faults served, %.0f requests/min (limit %d), %d warn/error lines (%d name the fault, bound %d), api_throttles+source_failures +%.0f",
			ph.kind, served, perMinute, 2*faultRate*60, len(problems), named, maxLines, throttled)
		for msg, n := range distinctMessages(problems) {
			t.Logf("    %dx %s", n, msg)
		}
		if served == 0 {
			t.Errorf("%s: the simulator served no fault: the storm did not happen", ph.kind)
		}
		if perMinute > float64(2*faultRate*60)*1.1 {
			t.Errorf("%s: %.0f requests/min, above the configured %d/s per receiver", ph.kind, perMinute, faultRate)
		}
		// A storm the retries absorb need not fail a poll, but the operator must be able to see
		// it: a warning naming it, or the throttle counter.
		if named == 0 && throttled == 0 {
			t.Errorf("%s: %d faults served and nothing shows it: no warning names it (markers %v) and neither api_throttles nor source_failures moved; lines:\n%s",
				ph.kind, served, ph.markers, strings.Join(problems, "\n"))
		}
		if len(problems) > maxLines {
			t.Errorf("%s: %d warn/error lines in %v, more than one per failed cycle (%d):\n%s", ph.kind, len(problems), elapsed.Round(time.Second), maxLines,
				tail(strings.Join(problems, "\n"), 3000))
		}
	}

	waitFor(t, 2*stream, "the simulated timeline to end", func() error {
		if c := sim.clock(t); c.Now.Before(c.End) {
			return fmt.Errorf("simulator at %s, ends %s", c.Now, c.End)
		}
		return nil
	})
	clk := sim.clock(t)
	want := tableEvents(t, sim, warehouse, clk.Start.Add(-time.Hour), clk.End.Add(time.Hour))
	var r deliveryReport
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, _ := sinkEvents(t, filepath.Join(sinkDir, "table.jsonl"))
		r = compareEvents(want, got)
		if r.lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	p.stop(t, 30*time.Second)
	t.Logf("RESULT api-faults system_table after the storms: %v", r)
	if r.lost > 0 || r.duplicated > 0 {
		t.Errorf("after the faults stopped: %v (first lost %v)", r, r.lostIDs[:min(5, len(r.lostIDs))])
	}
	if dbx, err := os.ReadFile(filepath.Join(sinkDir, "dbx.jsonl")); err != nil || !strings.Contains(string(dbx), "databricks.cluster.state") {
		t.Errorf("the databricks receiver wrote no cluster metrics (err %v)", err)
	}
}

// distinctMessages counts console log lines by component and message (timestamps and fields
// dropped), to show how many different warnings a storm produced.
func distinctMessages(lines []string) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 4 {
			continue
		}
		key := f[3]
		if i := strings.Index(l, `"otelcol.component.id": "`); i >= 0 {
			id := l[i+len(`"otelcol.component.id": "`):]
			key = id[:strings.Index(id, `"`)] + ": " + key
		}
		if i := strings.Index(l, `"error": "`); i >= 0 {
			key += " — " + l[i+len(`"error": "`):][:min(160, len(l)-i-len(`"error": "`))]
		}
		out[key]++
	}
	return out
}
