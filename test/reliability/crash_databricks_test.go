//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// clusterChurnScenario keeps cluster events and finished job runs arriving every second or so
// once the simulator runs at clusterChurnSpeedup: each of the 60 clusters starts, autoscales and
// terminates every few simulated hours (about one cluster event per wall second in all), and
// the 40 jobs finish about one run per wall second. At real time (speedup 1) the same workspace
// produced no cluster event in a minute: its lifecycles are hours long.
const clusterChurnScenario = `name: cluster-churn
seed: 23
users: 10
service_principals: 1
rate: 0.1
clusters: 60
jobs: 40
runs_per_job_per_day: 20
warehouses: 1
`

// clusterChurnSpeedup is simulated seconds per wall second in TestCrashSafetyDatabricksReceiver.
const clusterChurnSpeedup = 120

// simulatorFastArgs start a live simulator whose timeline began 4 minutes before the wall clock
// and then runs speedup times faster than it for stream of wall time.
func simulatorFastArgs(scenario string, stream time.Duration, speedup int) []string {
	now := time.Now().UTC()
	if now.Second() >= 57 { // a now-based start is truncated to the minute when the simulator starts
		time.Sleep(4 * time.Second)
		now = time.Now().UTC()
	}
	start := now.Truncate(time.Minute).Add(-4 * time.Minute)
	duration := now.Sub(start) + stream*time.Duration(speedup)
	return []string{"--scenario", scenario, "--start", "now-4m", "--duration", duration.Round(time.Second).String(),
		"--speedup", fmt.Sprint(speedup), "--tick", "500ms"}
}

// killAndRestart SIGKILLs the collector p at each moment of schedule (offsets from began) and
// starts it again from cfg each time; it fails the test if the collector exited by itself.
func killAndRestart(t *testing.T, p *process, cfg string, began time.Time, schedule []time.Duration) *process {
	t.Helper()
	for i, at := range schedule {
		time.Sleep(time.Until(began.Add(at)))
		if p.exited() {
			t.Fatalf("the collector exited by itself before kill %d: %v", i+1, p.err)
		}
		p.kill()
		t.Logf("kill %d at %v", i+1, at.Round(time.Millisecond))
		p = startCollector(t, cfg)
	}
	return p
}

// killSchedule draws kills moments over stream, at least 2 s apart, from the seed (logged, and
// taken from RELIABILITY_SEED when set).
func killSchedule(t *testing.T, kills int, stream time.Duration) []time.Duration {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("RELIABILITY_SEED"); s != "" {
		_, err := fmt.Sscan(s, &seed)
		mustf(t, err, "RELIABILITY_SEED")
	}
	t.Logf("kill schedule seed %d (RELIABILITY_SEED=%d reproduces it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	moments := make([]time.Duration, kills)
	for i := range moments {
		moments[i] = time.Duration(rng.Int64N(int64(stream - 2*time.Second)))
	}
	sort.Slice(moments, func(i, j int) bool { return moments[i] < moments[j] })
	for i := 1; i < len(moments); i++ {
		if moments[i] < moments[i-1]+2*time.Second {
			moments[i] = moments[i-1] + 2*time.Second
		}
	}
	return moments
}

// clusterEventKey and jobRunKey identify a cluster event or a finished job run across sources.
func clusterEventKey(clusterID string, ts int64, typ string) string {
	return fmt.Sprintf("cluster/%s/%d/%s", clusterID, ts, typ)
}

func jobRunKey(runID int64) string { return fmt.Sprintf("run/%d", runID) }

// computeTruth lists, from the simulator, every cluster event and every finished run that
// happened in [from, to).
func computeTruth(t *testing.T, sim *simulator, from, to time.Time) eventCounts {
	t.Helper()
	cfg := databricks.NewDefaultClientConfig()
	cfg.Endpoint = sim.url
	cfg.Token = configopaque.String(sim.token)
	cfg.MaxRequestsPerSecond = 1000
	c, err := databricks.New(cfg, nil)
	mustf(t, err, "client")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	want := eventCounts{}
	clusters, err := c.ListClusters(ctx)
	mustf(t, err, "list clusters")
	for _, cl := range clusters {
		events, err := c.ClusterEvents(ctx, cl.ClusterId, from.UnixMilli())
		mustf(t, err, "cluster events %s", cl.ClusterId)
		for _, e := range events {
			if e.Timestamp < to.UnixMilli() {
				want[clusterEventKey(e.ClusterId, e.Timestamp, string(e.Type))]++
			}
		}
	}
	runs, err := c.ListRuns(ctx, databricks.RunsQuery{StartTimeFrom: from.Add(-12 * time.Hour).UnixMilli(), CompletedOnly: true})
	mustf(t, err, "list runs")
	for _, r := range runs {
		if r.EndTime >= from.UnixMilli() && r.EndTime < to.UnixMilli() {
			want[jobRunKey(r.RunId)]++
		}
	}
	return want
}

// computeSink reads the receiver's cluster-event and job-run records from a file sink, keeping
// those that happened in [from, to).
func computeSink(t *testing.T, path string, from, to time.Time) eventCounts {
	t.Helper()
	got := eventCounts{}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return got
	}
	mustf(t, err, "read sink")
	var u plog.JSONUnmarshaler
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		ld, err := u.UnmarshalLogs([]byte(line))
		if err != nil {
			continue // a line cut by SIGKILL
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			clusterID, _ := rl.Resource().Attributes().Get("databricks.cluster.id")
			sls := rl.ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					ts := lr.Timestamp().AsTime()
					if ts.Before(from) || !ts.Before(to) {
						continue
					}
					name := lr.EventName()
					if v, ok := lr.Attributes().Get("event.name"); ok && name == "" {
						name = v.Str()
					}
					switch name {
					case "databricks.cluster.event":
						typ, _ := lr.Attributes().Get("databricks.cluster.event.type")
						got[clusterEventKey(clusterID.Str(), ts.UnixMilli(), typ.Str())]++
					case "databricks.job.run":
						id, _ := lr.Attributes().Get("databricks.job.run.id")
						got[jobRunKey(id.Int())]++
					}
				}
			}
		}
	}
	return got
}

// TestCrashSafetyDatabricksReceiver does for cluster events and job runs what
// TestCrashSafetyUnderSIGKILL does for audit events: SIGKILLs during a stream, then every event
// that happened after the receiver's first start must be at the sink.
func TestCrashSafetyDatabricksReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs in make test-reliability, not in the quick subset")
	}
	requireComponents(t, "databricks", "file", "file_storage")
	kills, stream := 3, 60*time.Second
	if fullRun() {
		kills, stream = 10, 4*time.Minute
	}
	dir := t.TempDir()
	scenario := writeFile(t, dir, "churn.yaml", clusterChurnScenario)
	sim := startSimulator(t, simulatorFastArgs(scenario, stream, clusterChurnSpeedup)...)
	sinkPath := filepath.Join(dir, "dbx.jsonl")
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "collector.yaml", withFileStorage(fmt.Sprintf(`receivers:
  databricks:
    endpoint: %s
    token: %s
    storage: file_storage
    collection_interval: 2s
    initial_delay: 0s
    max_requests_per_second: 50
    identity: {enabled: false}
    warehouses: {enabled: false}
exporters:
  file:
    path: %s
    rotation: {max_megabytes: 1024}
`, sim.url, simToken, sinkPath)+ports.serviceYAML("databricks", "", "file"), filepath.Join(dir, "state")))

	began := time.Now()
	p := startCollector(t, cfg)
	// Judge from the simulated "now" of the receiver's first poll. The receiver takes its first
	// cursor from the wall clock and learns of runs that straddle it from the active-runs list
	// of that poll; with the simulated clock running 120 times faster, runs that ended between
	// the two (minutes of simulated time here, milliseconds against a real workspace) are
	// history to it, by design, and not losses.
	waitFor(t, time.Minute, "the receiver's first poll", func() error {
		if n := sim.stats(t).Requests["GET /api/2.2/jobs/runs/list"]; n < 2 {
			return fmt.Errorf("%d runs/list requests", n)
		}
		return nil
	})
	from := sim.clock(t).Now
	p = killAndRestart(t, p, cfg, began, killSchedule(t, kills, stream))
	sim.awaitTimelineEnd(t, stream+time.Minute)
	to := sim.clock(t).End
	want := computeTruth(t, sim, from, to)
	wantEvents, wantRuns := splitComputeKeys(want)
	if wantEvents.total() < 20 || wantRuns.total() < 20 {
		t.Fatalf("the simulator produced too little to judge: %d cluster events, %d finished runs", wantEvents.total(), wantRuns.total())
	}
	var r deliveryReport
	deadline := time.Now().Add(90 * time.Second)
	for {
		r = compareEvents(want, computeSink(t, sinkPath, from, to))
		if r.lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	p.stop(t, 30*time.Second)
	gotEvents, gotRuns := splitComputeKeys(computeSink(t, sinkPath, from, to))
	maxBatch := largestSinkBatch(t, sinkPath)
	for _, kind := range []struct {
		name      string
		want, got eventCounts
	}{{"cluster_events", wantEvents, gotEvents}, {"job_runs", wantRuns, gotRuns}} {
		kr := compareEvents(kind.want, kind.got)
		t.Logf("RESULT crash-safety source=databricks/%s kills=%d speedup=%d: %v; largest batch %d",
			kind.name, kills, clusterChurnSpeedup, kr, maxBatch)
		if kr.lost > 0 {
			t.Errorf("%s lost after %d SIGKILLs: %v (first %v)", kind.name, kills, kr, kr.lostIDs[:min(5, len(kr.lostIDs))])
		}
	}
	// One collection cycle's logs are one batch: a kill between the sink write and the cursor
	// save repeats at most that cycle.
	if r.duplicated > kills*maxBatch {
		t.Errorf("%d duplicates after %d kills, more than one batch (max %d records) per kill", r.duplicated, kills, maxBatch)
	}
}

// splitComputeKeys separates cluster-event keys from job-run keys.
func splitComputeKeys(all eventCounts) (clusterEvents, jobRuns eventCounts) {
	clusterEvents, jobRuns = eventCounts{}, eventCounts{}
	for k, n := range all {
		if strings.HasPrefix(k, "run/") {
			jobRuns[k] = n
		} else {
			clusterEvents[k] = n
		}
	}
	return clusterEvents, jobRuns
}
