//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

// findingCounter is the processor's next consumer in TestSoakModel: it counts findings per rule.
type findingCounter struct {
	records int64
	byRule  map[string]int
}

func (c *findingCounter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *findingCounter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	forEachRecord(ld, func(lr plog.LogRecord) {
		if lr.EventName() != findingEventName {
			c.records++
			return
		}
		rule, _ := lr.Attributes().Get("security_rule.uuid")
		c.byRule[rule.Str()]++
	})
	return nil
}

// TestSoakModel replays the soak's load (TestSoak's loadFeeder pools) through the
// access_anomaly processor in this process, as fast as it goes: the processor's clocks are the
// events' times, so hours of the soak's event time take minutes. Every 10 minutes of event time
// it reports the findings so far and the live heap after a collection — the processor's state,
// which is what the soak's RSS follows. It is a tool for judging a soak load before spending
// hours on it: RELIABILITY_SOAK_MODEL=2h sets the event time to model (skipped without it);
// RELIABILITY_SOAK_MODEL_REPLAY=1 replays the first pool unchanged (the soak's load until
// 2026-11-26) instead of its variants; RELIABILITY_SOAK_MODEL_PROFILES=<dir> writes a heap
// profile at every report.
func TestSoakModel(t *testing.T) {
	v := os.Getenv("RELIABILITY_SOAK_MODEL")
	if v == "" {
		t.Skip("set RELIABILITY_SOAK_MODEL to the event time to model (e.g. 2h)")
	}
	horizon, err := time.ParseDuration(v)
	mustf(t, err, "RELIABILITY_SOAK_MODEL")
	replay := os.Getenv("RELIABILITY_SOAK_MODEL_REPLAY") == "1"
	rate := soakRate(t)

	factory := accessanomalyprocessor.NewFactory()
	sink := &findingCounter{byRule: map[string]int{}}
	cfg := factory.CreateDefaultConfig().(*accessanomalyprocessor.Config)
	// The model runs ahead of the wall clock, which the processor clamps event times to (plus
	// max_future_skew): without a long skew every record after the first minutes would land
	// at the same clamped time and no window would ever slide.
	cfg.MaxFutureSkew = 1000 * time.Hour
	proc, err := factory.CreateLogs(context.Background(), processortest.NewNopSettings(factory.Type()), cfg, sink)
	mustf(t, err, "create access_anomaly")
	mustf(t, proc.Start(context.Background(), componenttest.NewNopHost()), "start access_anomaly")
	defer func() { mustf(t, proc.Shutdown(context.Background()), "shut down access_anomaly") }()

	pv := newPoolVariants(t, rate, time.Now())
	pool, span := pv.first.Events, pv.first.End.Sub(pv.first.Start)
	first := pool
	parser := auditlog.NewParser()
	batch := auditlog.NewBatch(parser, "model", "0")
	const perBatch = 2000
	var fed int64
	reportEvery := 10 * time.Minute
	nextReport := reportEvery
	began := time.Now()
	for pass := 0; time.Duration(pass)*span < horizon; pass++ {
		// Variants are built here rather than ahead, and no pool is held while the heap is
		// read: a pool is ~250 MB, the processor's state a fraction of that.
		switch {
		case pass == 0 || replay:
			pool = first
		default:
			pool, err = pv.variant(pass)
			mustf(t, err, "variant")
		}
		shift := time.Duration(pass) * span
		// Feed at the soak's rate in event time: rate records per second of the pool's span.
		n := int(span.Seconds()) * rate
		for i := 0; i < n; i++ {
			e := pool[i%len(pool)]
			e.Time = e.Time.Add(shift)
			if err := batch.AppendDeliveryLine(e.DeliveryLine(), e.WorkspaceID); err != nil {
				t.Fatalf("parse a generated line: %v", err)
			}
			if batch.Len() == perBatch {
				mustf(t, proc.ConsumeLogs(context.Background(), batch.Take()), "consume")
				fed += perBatch
			}
		}
		if batch.Len() > 0 {
			fed += int64(batch.Len())
			mustf(t, proc.ConsumeLogs(context.Background(), batch.Take()), "consume")
		}
		pool = nil
		if !replay {
			first, pv.first = nil, nil
		}
		at := time.Duration(pass+1) * span
		if at >= nextReport {
			nextReport += reportEvery
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			total := 0
			var rules []string
			for r, c := range sink.byRule {
				total += c
				rules = append(rules, fmt.Sprintf("%s %d", r, c))
			}
			sort.Strings(rules)
			if dir := os.Getenv("RELIABILITY_SOAK_MODEL_PROFILES"); dir != "" {
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%03.0fm.pprof", at.Minutes())))
				mustf(t, err, "heap profile")
				mustf(t, pprof.WriteHeapProfile(f), "heap profile")
				mustf(t, f.Close(), "heap profile")
			}
			t.Logf("model %v (wall %v): fed %d, findings %d, live heap %.1f MiB; %s", at, time.Since(began).Round(time.Second),
				fed, total, float64(ms.HeapAlloc)/(1<<20), strings.Join(rules, ", "))
		}
	}
}
