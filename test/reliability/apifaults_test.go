//go:build reliability

package reliability

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// faultPhase is one storm: every API path answers with the fault for the phase's duration.
type faultPhase struct {
	kind    string
	rule    string   // PUT /sim/faults body
	markers []string // a warning about this fault names one of these
	// httpError: the fault is an HTTP error status, which the clients count in api_errors on
	// every attempt, so the two api_errors counters must grow by at least the faults served.
	httpError bool
	// retriedReads: the fault hits only reads of the databricks receiver, which its client
	// retries, so that receiver's api_retries must grow (and no poll or cycle need fail).
	retriedReads bool
}

var faultPhases = []faultPhase{
	{kind: "429 with Retry-After", rule: `[{"path":"*","kind":"429-retry-after","retry_after":2000000000}]`, markers: []string{"429"}, httpError: true},
	{kind: "429 without Retry-After", rule: `[{"path":"*","kind":"429"}]`, markers: []string{"429"}, httpError: true},
	{kind: "500", rule: `[{"path":"*","kind":"500"}]`, markers: []string{"500"}, httpError: true},
	{kind: "503", rule: `[{"path":"*","kind":"503"}]`, markers: []string{"503"}, httpError: true},
	// A 200 with half a body: not an HTTP error, so it shows as failed polls and cycles, which
	// are logged (audit receiver: every failed poll) and counted (source_failures) without
	// any rate limit.
	{kind: "truncated JSON", rule: `[{"path":"*","kind":"truncated"}]`,
		markers: []string{"truncated", "unexpected EOF", "unexpected end", "invalid character", "JSON", "json", "decode"}},
	// Retried GETs of the databricks receiver: the storm is absorbed by retries, so only a
	// counter or a warning can tell the operator the API is failing.
	{kind: "500 on cluster reads", rule: `[{"path":"/api/2.1/clusters","kind":"500"},{"path":"/api/2.0/clusters","kind":"500"}]`, markers: []string{"500"},
		httpError: true, retriedReads: true},
	{kind: "401 expired token", rule: `[{"path":"*","kind":"expired-token"}]`, markers: []string{"401", "UNAUTHENTICATED", "expired"}, httpError: true},
}

// apiCounters are the self-telemetry counters that show API trouble, read in one scrape of
// the collector's Prometheus endpoint. Each is summed over its attributes (class, source).
type apiCounters struct {
	auditErrors, auditRetries, auditThrottles float64 // databricks_audit receiver
	dbxErrors, dbxRetries, sourceFailures     float64 // databricks receiver
}

func (c apiCounters) minus(o apiCounters) apiCounters {
	return apiCounters{
		auditErrors: c.auditErrors - o.auditErrors, auditRetries: c.auditRetries - o.auditRetries, auditThrottles: c.auditThrottles - o.auditThrottles,
		dbxErrors: c.dbxErrors - o.dbxErrors, dbxRetries: c.dbxRetries - o.dbxRetries, sourceFailures: c.sourceFailures - o.sourceFailures,
	}
}

func (c apiCounters) String() string {
	return fmt.Sprintf("api_errors audit +%.0f dbx +%.0f, api_retries audit +%.0f dbx +%.0f, audit api_throttles +%.0f, source_failures +%.0f",
		c.auditErrors, c.dbxErrors, c.auditRetries, c.dbxRetries, c.auditThrottles, c.sourceFailures)
}

func scrapeAPICounters(t *testing.T, addr string) apiCounters {
	t.Helper()
	code, body := get(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("self-telemetry: status %d", code)
	}
	sum := func(name string) float64 {
		total := 0.0
		for _, line := range strings.Split(body, "\n") {
			if !strings.HasPrefix(line, name+"_total") && !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
				continue
			}
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				total += v
			}
		}
		return total
	}
	return apiCounters{
		auditErrors:    sum("otelcol_databricks_audit_api_errors"),
		auditRetries:   sum("otelcol_databricks_audit_api_retries"),
		auditThrottles: sum("otelcol_databricks_audit_api_throttles"),
		dbxErrors:      sum("otelcol_databricks_api_errors"),
		dbxRetries:     sum("otelcol_databricks_api_retries"),
		sourceFailures: sum("otelcol_databricks_source_failures"),
	}
}

// retryWarning is the message of the client's warning about a retried failure, logged at most
// once per kind every 30 s (internal/databricks/retrywarnings.go).
const retryWarning = "Databricks API request failed; retrying with backoff"

// stormEvidence says what shows the storm to an operator, or "" if nothing does. Every piece
// of evidence is deterministic: counters counted at the source, or warnings logged for every
// failed poll (steadyNamed); never the client's retry warnings, which are rate-limited per
// kind and would make the check depend on where the storm falls in their 30 s interval.
func stormEvidence(ph faultPhase, served int64, d apiCounters, steadyNamed int) string {
	switch {
	case ph.retriedReads:
		if d.dbxErrors >= float64(served) && d.dbxRetries > 0 {
			return fmt.Sprintf("the databricks receiver's api_errors +%.0f (>= %d faults) and api_retries +%.0f", d.dbxErrors, served, d.dbxRetries)
		}
	case ph.httpError:
		if errs := d.auditErrors + d.dbxErrors; errs >= float64(served) {
			return fmt.Sprintf("api_errors +%.0f (>= %d faults)", errs, served)
		}
	default:
		// The audit receiver warns of every failed poll, the databricks receiver counts every
		// failed source; either receiver may sit out a short storm (a poll or cycle still
		// backing off from the last one), so either one suffices.
		if steadyNamed > 0 || d.sourceFailures > 0 {
			return fmt.Sprintf("%d per-poll warnings name it, source_failures +%.0f", steadyNamed, d.sourceFailures)
		}
	}
	return ""
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
// they are still up, kept to their request rate, made each storm visible through counters or
// warnings without flooding the log, and delivered every audit row once the faults stopped.
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
	scenario := writeFile(t, dir, "faults.yaml", crashScenario())
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
	for _, ph := range faultPhases {
		// Calm before each storm. A request may still be backing off from the last storm (after
		// five failed attempts the client waits 8-16 s) and sit this one out; the checks
		// below allow for that: they compare counters with the faults actually served.
		time.Sleep(phase / 2)
		logBefore := len(p.output.String())
		reqBefore, faultsBefore, countersBefore := totalRequests(), faultsServed(), scrapeAPICounters(t, ports.telemetry)
		sim.setFaults(t, ph.rule)
		began := time.Now()
		time.Sleep(phase)
		// On a loaded machine a receiver may still be inside a long cycle or backoff when the
		// storm ends; keep the storm on until it has hit something.
		for faultsServed() == faultsBefore && time.Since(began) < 3*phase {
			time.Sleep(200 * time.Millisecond)
		}
		sim.setFaults(t, `[]`)
		elapsed := time.Since(began)
		served := faultsServed() - faultsBefore
		perMinute := float64(totalRequests()-reqBefore) / elapsed.Minutes()
		if p.exited() {
			t.Fatalf("the collector exited during the %s storm: %v", ph.kind, p.err)
		}
		var problems []string
		for _, line := range strings.Split(p.output.String()[logBefore:], "\n") {
			if isProblemLine(line) {
				problems = append(problems, line)
			}
		}
		// named counts every warning that names the fault; steadyNamed only those logged for
		// each failed poll or cycle, leaving out the client's retry warnings, which are
		// rate-limited and so fall into a given storm or not depending on the one before.
		named, steadyNamed := 0, 0
		for _, line := range problems {
			for _, m := range ph.markers {
				if strings.Contains(line, m) {
					named++
					if !strings.Contains(line, retryWarning) {
						steadyNamed++
					}
					break
				}
			}
		}
		// A fault answered just before the storm ended may still be on its way to the client,
		// and a retry waits out its backoff before it is counted: wait for the counters to
		// settle rather than for a fixed time.
		var delta apiCounters
		evidence := ""
		for settle := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
			delta = scrapeAPICounters(t, ports.telemetry).minus(countersBefore)
			if evidence = stormEvidence(ph, served, delta, steadyNamed); evidence != "" || time.Now().After(settle) {
				break
			}
		}
		// One warning per failed poll or collection cycle at most, never one per retry attempt.
		maxLines := int(elapsed/(2*time.Second)) + int(elapsed/(3*time.Second)) + 4
		t.Logf("RESULT api-faults kind=%q: %d faults served, %.0f requests/min (limit %d), %d warn/error lines (%d name the fault, bound %d), %v",
			ph.kind, served, perMinute, 2*faultRate*60, len(problems), named, maxLines, delta)
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
		// it, and the test must not depend on luck to tell.
		if evidence == "" {
			t.Errorf("%s: %d faults served and nothing deterministic shows it (%v; %d warnings name it, %d of them per-poll, markers %v); lines:\n%s",
				ph.kind, served, delta, named, steadyNamed, ph.markers, strings.Join(problems, "\n"))
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
