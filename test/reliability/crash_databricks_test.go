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

// busyComputeScenario has many clusters and frequent job runs, so cluster events and finished
// runs keep arriving during a short test.
const busyComputeScenario = `name: busy-compute
seed: 23
users: 10
service_principals: 1
rate: 1
clusters: 30
jobs: 40
runs_per_job_per_day: 1000
warehouses: 1
`

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
	scenario := writeFile(t, dir, "busy.yaml", busyComputeScenario)
	args := simulatorStreamArgs(scenario, filepath.Join(dir, "audit"), stream)
	sim := startSimulator(t, args[:len(args)-2]...) // no delivery files needed
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

	firstStart := time.Now()
	began := time.Now()
	p := startCollector(t, cfg)
	for i, at := range killSchedule(t, kills, stream) {
		time.Sleep(time.Until(began.Add(at)))
		if p.exited() {
			t.Fatalf("the collector exited by itself before kill %d: %v", i+1, p.err)
		}
		p.kill()
		t.Logf("kill %d at %v", i+1, at.Round(time.Millisecond))
		p = startCollector(t, cfg)
	}
	waitFor(t, stream+time.Minute, "the simulated timeline to end", func() error {
		if c := sim.clock(t); c.Now.Before(c.End) {
			return fmt.Errorf("simulator at %s, ends %s", c.Now, c.End)
		}
		return nil
	})
	// Events of the first seconds may predate the receiver's first cursor; judge from after it.
	from := firstStart.Add(5 * time.Second)
	to := sim.clock(t).End
	want := computeTruth(t, sim, from, to)
	if want.total() < 10 {
		t.Fatalf("the simulator produced too little to judge: %d cluster events and finished runs", want.total())
	}
	var r deliveryReport
	deadline := time.Now().Add(60 * time.Second)
	for {
		r = compareEvents(want, computeSink(t, sinkPath, from, to))
		if r.lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	p.stop(t, 30*time.Second)
	runs, events := 0, 0
	for k, n := range want {
		if strings.HasPrefix(k, "run/") {
			runs += n
		} else {
			events += n
		}
	}
	t.Logf("RESULT crash-safety source=databricks kills=%d: %v (%d cluster events, %d finished runs produced)", kills, r, events, runs)
	if r.lost > 0 {
		t.Errorf("cluster events / job runs lost after %d SIGKILLs: %v (first %v)", kills, r, r.lostIDs[:min(5, len(r.lostIDs))])
	}
	if r.duplicated > kills*largestSinkBatch(t, sinkPath) {
		t.Errorf("%d duplicates after %d kills, more than one batch per kill", r.duplicated, kills)
	}
}
