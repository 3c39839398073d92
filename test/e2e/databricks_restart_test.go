//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	sim "github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// Acceptance of issue 5 (restart): cluster events and job runs the databricks receiver emitted
// before a restart are not emitted again; those that happened while it was down are emitted
// after it. Simulated time runs live at 1200x (20 minutes a second) while the collector polls
// every second, stops at the end of each step so each run's expected output is exact, and
// jumps an hour while the collector is down.

// databricksReceiverYAML configures the receiver against the simulator with fast cycles.
func databricksReceiverYAML(api *simAPI, interval string, extra string) string {
	return fmt.Sprintf(`  databricks:
    endpoint: %s
    token: %s
    collection_interval: %s
    initial_delay: 0s
    storage: file_storage
    max_requests_per_second: 200
%s`, api.url, simToken, interval, extra)
}

// simDatabricksEnv keeps a developer's own Databricks settings away from the collector.
var simDatabricksEnv = []string{"DATABRICKS_CLIENT_ID=", "DATABRICKS_CLIENT_SECRET=", "DATABRICKS_CONFIG_FILE=/dev/null"}

// happening is a cluster event or a finished job run, by the key both sides can compute.
type happening struct {
	key string
	at  time.Time // event time; the run's end
}

// happeningsBetween lists the simulator's cluster events and finished runs in (from, to].
func happeningsBetween(w *sim.World, from, to time.Time) map[string]int {
	out := map[string]int{}
	for _, h := range allHappenings(w) {
		if h.at.After(from) && !h.at.After(to) {
			out[h.key]++
		}
	}
	return out
}

func allHappenings(w *sim.World) []happening {
	var hs []happening
	for _, c := range w.Workspace.Clusters {
		for _, e := range c.Events {
			hs = append(hs, happening{clusterEventKey(c.ID, e.Timestamp, string(e.Type)), time.UnixMilli(e.Timestamp)})
		}
	}
	for _, r := range w.Workspace.Runs {
		hs = append(hs, happening{fmt.Sprintf("run %d", r.RunID), r.End.Truncate(time.Millisecond)})
	}
	return hs
}

func clusterEventKey(clusterID string, ms int64, typ string) string {
	return fmt.Sprintf("cluster %s %d %s", clusterID, ms, typ)
}

// emittedHappenings reads the cluster-event and job-run records of run n.
func emittedHappenings(rc *receiverCollector, n int) (map[string]int, error) {
	batches, err := rc.readLogs(n)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var bad error
	eachLogRecord(batches, func(res map[string]any, lr plog.LogRecord) {
		attrs := lr.Attributes()
		name, _ := attrs.Get("event.name")
		switch name.Str() {
		case "databricks.cluster.event":
			typ, _ := attrs.Get("databricks.cluster.event.type")
			id, _ := res["databricks.cluster.id"].(string)
			if id == "" {
				bad = fmt.Errorf("cluster event without resource databricks.cluster.id: %v", attrs.AsRaw())
			}
			out[clusterEventKey(id, lr.Timestamp().AsTime().UnixMilli(), typ.Str())]++
		case "databricks.job.run":
			id, ok := attrs.Get("databricks.job.run.id")
			if !ok {
				bad = fmt.Errorf("job run record without databricks.job.run.id: %v", attrs.AsRaw())
			}
			out[fmt.Sprintf("run %d", id.Int())]++
		}
	})
	return out, bad
}

// diffCounts compares emitted keys with the expected ones; maybe holds keys that may or may not
// be emitted (they happened around the receiver's first start).
func diffCounts(got, want, maybe map[string]int) error {
	var missing, extra []string
	for k, n := range want {
		if got[k] != n {
			missing = append(missing, fmt.Sprintf("%s (%d of %d)", k, got[k], n))
		}
	}
	for k, n := range got {
		if n > want[k]+maybe[k] {
			extra = append(extra, fmt.Sprintf("%s x%d", k, n))
		}
	}
	if len(missing)+len(extra) == 0 {
		return nil
	}
	sort.Strings(missing)
	sort.Strings(extra)
	err := fmt.Errorf("%d records for %d expected: missing or short %s; unexpected or repeated %s",
		recordCount(got), recordCount(want), firstFew(missing), firstFew(extra))
	if len(extra) > 0 {
		return finalError{err}
	}
	return err
}

func countKinds(m map[string]int) string {
	clusters, runs := 0, 0
	for k, n := range m {
		if strings.HasPrefix(k, "run ") {
			runs += n
		} else {
			clusters += n
		}
	}
	return fmt.Sprintf("%d cluster events and %d finished runs", clusters, runs)
}

func TestDatabricksReceiverRestart(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Second)
	w := simWorldFrom(t, t0.Add(-2*time.Hour).Truncate(time.Minute), 10*time.Hour, func(sc *sim.Scenario) {
		sc.Users, sc.Rate = 5, 0.01
		sc.Clusters, sc.Jobs, sc.RunsPerJobPerDay = 12, 10, 48
	})
	t1, t2 := t0.Add(3*time.Hour), t0.Add(6*time.Hour)
	tDown := t1.Add(time.Hour) // the clock when the collector comes back
	const speedup = 1200
	// The receiver reads from its first start (a little after t0): what happened in the first
	// half minute may or may not be reported.
	settle := t0.Add(30 * time.Second)
	want1, maybe1 := happeningsBetween(w, settle, t1), happeningsBetween(w, t0, settle)
	want2, whileDown := happeningsBetween(w, t1, t2), happeningsBetween(w, t1, tDown)
	if len(want1) == 0 || len(whileDown) == 0 || len(want2) == len(whileDown) {
		t.Fatalf("the scenario is too quiet: %s before the restart, %s while down, %s in all after it",
			countKinds(want1), countKinds(whileDown), countKinds(want2))
	}

	clock := newSimClock(t0)
	api := serveSimAPI(t, w, sim.ServerOptions{Clock: clock.Now})
	rc := newReceiverCollector(t, databricksReceiverYAML(api, "1s", `    clusters: {enabled: true, events: true}
    jobs: {enabled: true}
    warehouses: {enabled: false}
    identity: {enabled: false}`), `    logs:
      receivers: [databricks]
      exporters: [file]`, simDatabricksEnv...)

	rc.start()
	// the first cycle at t0 sets the cursors and sees the runs active then
	waitForCycles(t, rc, api, 2)
	clock.Run(t1, speedup)
	rc.waitWhileRunning(75*time.Second, "events up to the restart", func() error {
		got, err := emittedHappenings(rc, 1)
		if err != nil {
			return err
		}
		return diffCounts(got, want1, maybe1)
	})
	waitForCycles(t, rc, api, 3) // the cursors of the last cycle are stored
	run1, err := emittedHappenings(rc, 1)
	if err == nil {
		err = diffCounts(run1, want1, maybe1)
	}
	if err != nil {
		t.Fatalf("run 1 after a few more cycles: %v", err)
	}
	t.Logf("run 1: %s", countKinds(run1))
	rc.stop()

	if got := clock.Now(); !got.Equal(t1) {
		t.Fatalf("the simulated clock stands at %v, want %v", got, t1)
	}
	clock.Set(tDown) // an hour passes while the collector is down
	rc.start()
	clock.Run(t2, speedup)
	rc.waitWhileRunning(75*time.Second, "events that happened while down", func() error {
		got, err := emittedHappenings(rc, 2)
		if err != nil {
			return err
		}
		return diffCounts(got, want2, nil)
	})
	waitForCycles(t, rc, api, 3)
	run2, err := emittedHappenings(rc, 2)
	if err == nil {
		err = diffCounts(run2, want2, nil)
	}
	if err != nil {
		t.Fatalf("run 2 after a few more cycles: %v", err)
	}
	for k := range run2 {
		if run1[k] > 0 {
			t.Errorf("%s was emitted before and after the restart", k)
		}
	}
	t.Logf("run 2: exactly the %s that happened after the restart (%s of them while it was down)", countKinds(run2), countKinds(whileDown))
}

// waitForCycles waits until the receiver started n more collection cycles (each begins with
// one clusters list), so the cycle before the last has completed.
func waitForCycles(t *testing.T, rc *receiverCollector, api *simAPI, n int64) {
	t.Helper()
	cycles := func() int64 { return api.Stats().Requests["GET /api/2.1/clusters/list"] }
	target := cycles() + n
	rc.waitWhileRunning(60*time.Second, fmt.Sprintf("%d collection cycles", n), func() error {
		if c := cycles(); c < target {
			return fmt.Errorf("%d cycles so far, want %d", c, target)
		}
		return nil
	})
}
