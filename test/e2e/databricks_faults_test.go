//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	sim "github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// Acceptance of issue 5 (faults): storms of 429 (with and without Retry-After) and 503 on every
// source of the databricks receiver make its first scrape late, but it completes with correct
// values, and the requests the simulator served stay within the bound the receiver's README
// documents plus one request per injected fault (the retries).

func TestDatabricksReceiverFaultStorms(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	w := simWorldFrom(t, now.Add(-12*time.Hour).Truncate(time.Minute), 13*time.Hour, func(sc *sim.Scenario) {
		sc.Users, sc.Rate = 5, 0.01
		sc.Clusters, sc.Jobs, sc.RunsPerJobPerDay = 12, 10, 48
	})
	storms := []sim.FaultRule{
		{Path: "/api/2.1/clusters/list", Kind: sim.Fault429RetryAfter, Count: 3, RetryAfter: time.Second},
		{Path: "/api/2.2/jobs/runs/list", Kind: sim.Fault503, Count: 3},
		{Path: "/api/2.0/sql/warehouses", Kind: sim.Fault429, Count: 2},
		{Path: "/api/2.0/preview/scim/v2/Users", Kind: sim.Fault503, Count: 2},
	}
	injected := int64(0)
	for _, f := range storms {
		injected += int64(f.Count)
	}
	// The least the client must wait: Retry-After as sent; otherwise backoff 1 s doubling, at
	// least half of it fixed (internal/databricks README).
	minWait := 3*time.Second + (500+1000+2000)*time.Millisecond + (500+1000)*time.Millisecond*2

	clock := newSimClock(now)
	api := serveSimAPI(t, w, sim.ServerOptions{Clock: clock.Now, Faults: storms})
	rc := newReceiverCollector(t, databricksReceiverYAML(api, "10m", `    clusters: {enabled: true, events: true}
    jobs: {enabled: true}
    warehouses: {enabled: true}
    identity: {enabled: true, interval: 1h}`), `    metrics:
      receivers: [databricks]
      exporters: [file]
    logs:
      receivers: [databricks]
      exporters: [file]`, simDatabricksEnv...)

	started := time.Now()
	rc.start()
	var metrics []pmetric.Metrics
	rc.waitWhileRunning(80*time.Second, "the first scrape's metrics", func() error {
		var err error
		if metrics, err = rc.readMetrics(1); err != nil {
			return err
		}
		if len(metrics) == 0 {
			return fmt.Errorf("no metrics yet after %v", time.Since(started).Round(time.Second))
		}
		return nil
	})
	elapsed := time.Since(started)
	stats := api.Stats()
	t.Logf("first scrape written after %v; simulator served %v, faults %v", elapsed.Round(100*time.Millisecond), stats.Requests, stats.Faults)

	if elapsed < minWait {
		t.Errorf("the scrape completed after %v, sooner than the retries can have waited (%v): were the faults retried?", elapsed, minWait)
	}
	var faults int64
	for _, n := range stats.Faults {
		faults += n
	}
	if faults != injected {
		t.Errorf("the simulator served %d faults, want all %d injected (every storm met and retried through)", faults, injected)
	}

	// The documented bound of one cycle (receiver README, "API calls per cycle"), first cycle:
	// every cluster is new (one events page each: nothing happened since the start), no run
	// was tracked before.
	active, completedSince := 0, 0
	from := started.Add(-5 * time.Minute)
	for _, r := range w.Workspace.Runs {
		switch {
		case r.Start.After(now):
		case now.Before(r.End):
			active++
		case !r.Start.Before(from):
			completedSince++
		}
	}
	n, j := len(w.Workspace.Clusters), len(w.Workspace.Jobs)
	bound := pagesOf(n, 100) + n + pagesOf(j, 100) + max(1, pagesOf(active, 25)) + max(1, pagesOf(completedSince, 25)) +
		1 + 3 + // warehouses; users, groups and service principals, each one SCIM page here
		1 // the workspace-id lookup (SCIM Me) of the first cycle, not in the README's per-cycle table
	if len(w.Population.Users) >= 100 {
		t.Fatalf("%d users need more than one SCIM page; adjust the bound", len(w.Population.Users))
	}
	var served int64
	for route, c := range stats.Requests {
		if strings.Contains(route, " /api/") {
			served += c
		}
	}
	if served > int64(bound)+injected {
		t.Errorf("the simulator served %d API requests; the documented bound is %d plus %d retries", served, bound, injected)
	}
	for _, f := range storms {
		if got := stats.Requests["GET "+f.Path]; got <= int64(f.Count) {
			t.Errorf("%s: %d requests for a storm of %d: the source never got through", f.Path, got, f.Count)
		}
	}

	// Correct values despite the storms: every source is in the first scrape (a failed source
	// contributes no metric), with the simulator's values.
	checkScrapedValues(t, metrics, api)
}

func pagesOf(a, b int) int { return (a + b - 1) / b }

// checkScrapedValues compares the metrics of the faulted sources with the simulator's state.
func checkScrapedValues(t *testing.T, metrics []pmetric.Metrics, api *simAPI) {
	t.Helper()
	s := &simulator{url: api.url}
	states := map[string]string{} // cluster id -> state with value 1
	workers := map[string]int64{} // cluster id / kind -> value
	warehouses := map[string]bool{}
	principals := map[string]int64{}
	for _, md := range metrics {
		forEachNumberPoint(md, func(res pcommon.Map, name string, attrs pcommon.Map, v float64) {
			cluster, _ := res.Get("databricks.cluster.id")
			switch name {
			case "databricks.cluster.state":
				if st, _ := attrs.Get("databricks.cluster.state"); v == 1 {
					states[cluster.Str()] = st.Str()
				}
			case "databricks.cluster.workers":
				kind, _ := attrs.Get("kind")
				workers[cluster.Str()+"/"+kind.Str()] = int64(v)
			case "databricks.warehouse.state":
				id, _ := res.Get("databricks.warehouse.id")
				warehouses[id.Str()] = true
			case "databricks.identity.principals":
				kind, _ := attrs.Get("kind")
				principals[kind.Str()] = int64(v)
			}
		})
	}
	clusters := s.clusters(t)
	for _, c := range clusters {
		if states[c.ID] != c.State {
			t.Errorf("cluster %s: state %q reported, the simulator has %q", c.ID, states[c.ID], c.State)
		}
		for kind, want := range c.expectedWorkers() {
			if got, ok := workers[c.ID+"/"+kind]; !ok || got != want {
				t.Errorf("cluster %s: workers{kind=%s} = %d (reported: %v), want %d", c.ID, kind, got, ok, want)
			}
		}
	}
	if len(states) != len(clusters) {
		t.Errorf("states reported for %d clusters, the simulator lists %d", len(states), len(clusters))
	}
	if id := s.warehouseID(t); !warehouses[id] {
		t.Errorf("no databricks.warehouse.state for warehouse %s (reported: %v)", id, warehouses)
	}
	var users struct {
		Total int64 `json:"totalResults"`
	}
	s.getJSON(t, "/api/2.0/preview/scim/v2/Users?count=1", &users)
	if users.Total == 0 || principals["user"] != users.Total {
		t.Errorf("databricks.identity.principals{kind=user} = %d, the simulator has %d users", principals["user"], users.Total)
	}
}

// forEachPoint calls fn for every gauge and sum data point.
func forEachNumberPoint(md pmetric.Metrics, fn func(res pcommon.Map, name string, attrs pcommon.Map, v float64)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				default:
					continue
				}
				for p := 0; p < dps.Len(); p++ {
					dp := dps.At(p)
					v := dp.DoubleValue()
					if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
						v = float64(dp.IntValue())
					}
					fn(rm.Resource().Attributes(), m.Name(), dp.Attributes(), v)
				}
			}
		}
	}
}
