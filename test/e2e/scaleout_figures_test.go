//go:build e2e

package e2e

import (
	"os"
	"testing"
	"time"
)

// TestScaleOutThroughputFigures measures the figures of the "Scale-out" section of BENCHMARKS.md: the time
// and CPU to push the whole `attacks` scenario (delivered at once) through one agent and 1, 2
// and 3 detectors. It is a measurement, not a check of behaviour, so it runs only on request:
//
//	SCALEOUT_FIGURES=1 OTELCOL_BINARY=bin/otelcol-databricks go test -tags e2e -run TestScaleOutThroughputFigures -v ./test/e2e/
func TestScaleOutThroughputFigures(t *testing.T) {
	if os.Getenv("SCALEOUT_FIGURES") == "" {
		t.Skip("measurement: set SCALEOUT_FIGURES=1 to run it")
	}
	requireAuditComponents(t)
	w := sharedAttacksWorld(t)
	for _, n := range []int{1, 2, 3} {
		feed := newDeliveryFeed(t, w)
		want := feed.deliverAll(t)
		s := startScaleOut(t, feed, n)
		_, complete := waitForAllRecords(t, want, func() *sinkContents { return s.union(t) })
		wall := complete.Sub(s.begin).Seconds()
		agentCPU := cpuSeconds(t, s.agent.proc.cmd.Process.Pid)
		var detCPU float64
		for _, d := range s.detectors {
			detCPU += cpuSeconds(t, d.proc.cmd.Process.Pid)
		}
		sprayCPU := cpuSeconds(t, s.spray.proc.cmd.Process.Pid)
		t.Logf("FIGURE detectors=%d events=%d wall=%.1fs rate=%.0f/s agent_cpu=%.1fs (%.1f µs/event) detectors_cpu=%.1fs (%.1f µs/event) spray_cpu=%.1fs",
			n, want, wall, float64(want)/wall, agentCPU, agentCPU/float64(want)*1e6, detCPU, detCPU/float64(want)*1e6, sprayCPU)
		s.agent.proc.stop(t, 30*time.Second)
		for _, d := range s.detectors {
			d.stop(t)
		}
		s.spray.stop(t)
	}
}
