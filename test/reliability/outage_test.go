//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// otlpSinkConfig is a second collector acting as the OTLP back end: it writes what it
// receives to a file.
func otlpSinkConfig(grpcAddr, sinkPath string, ports collectorPorts) string {
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  file:
    path: %s
    rotation: {max_megabytes: 1024}
`, grpcAddr, sinkPath) + ports.serviceYAML("otlp", "", "file")
}

// outageConfig reads delivery files and exports over OTLP with a persistent sending queue
// that retries forever.
func outageConfig(deliveryDir, stateDir, grpcAddr string, ports collectorPorts) string {
	return withFileStorage(fmt.Sprintf(`receivers:
  databricks_audit:
    source: delivery
    storage: file_storage
    delivery:
      url: file://%s
      poll_interval: 1s
exporters:
  otlp_grpc:
    endpoint: %s
    tls:
      insecure: true
    sending_queue:
      enabled: true
      storage: file_storage
      queue_size: 100000
    retry_on_failure:
      enabled: true
      initial_interval: 500ms
      max_interval: 5s
      max_elapsed_time: 0s
`, deliveryDir, grpcAddr)+ports.serviceYAML("databricks_audit", "", "otlp_grpc"), stateDir)
}

// TestExporterOutageWithPersistentQueue takes the OTLP back end down while audit events keep
// arriving, restarts the collector itself in the middle of the outage (the queue must survive
// on disk), brings the back end back and checks that nothing was lost.
func TestExporterOutageWithPersistentQueue(t *testing.T) {
	requireComponents(t, "databricks_audit", "otlp", "otlp_grpc", "file", "file_storage")
	outage := 20 * time.Second
	if fullRun() {
		outage = 60 * time.Second
	}
	stream := outage + 20*time.Second
	dir := t.TempDir()
	deliveryDir := filepath.Join(dir, "audit")
	mustf(t, os.MkdirAll(deliveryDir, 0o700), "mkdir")
	sinkPath := filepath.Join(dir, "otlp-sink.jsonl")
	scenario := writeFile(t, dir, "outage.yaml", crashScenario)
	sim := startSimulator(t, simulatorStreamArgs(scenario, deliveryDir, stream)...)

	grpcAddr := freeAddress(t)
	sinkCfg := writeFile(t, dir, "sink.yaml", otlpSinkConfig(grpcAddr, sinkPath, newCollectorPorts(t)))
	sink := startProcess(t, "otlp-sink", collectorBinary(t), nil, "--config", sinkCfg)
	waitFor(t, 30*time.Second, "the OTLP sink listening", func() error {
		if !listening(grpcAddr) {
			return fmt.Errorf("nothing on %s", grpcAddr)
		}
		return nil
	})
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "collector.yaml", outageConfig(deliveryDir, filepath.Join(dir, "state"), grpcAddr, ports))
	p := startCollector(t, cfg)
	waitFor(t, 30*time.Second, "first records at the sink", func() error {
		if got, _ := sinkEvents(t, sinkPath); got.total() == 0 {
			return fmt.Errorf("sink empty")
		}
		return nil
	})

	sink.stop(t, 30*time.Second)
	downAt := time.Now()
	before, _ := sinkEvents(t, sinkPath)
	time.Sleep(outage / 2)
	// The collector restarts while the back end is down: what it queued must come back from disk.
	p.stop(t, 30*time.Second)
	p = startCollector(t, cfg)
	time.Sleep(time.Until(downAt.Add(outage)))
	sink = startProcess(t, "otlp-sink", collectorBinary(t), nil, "--config", sinkCfg)
	t.Logf("back end down for %v", time.Since(downAt).Round(time.Second))

	waitFor(t, stream+time.Minute, "the simulated timeline to end", func() error {
		if c := sim.clock(t); c.Now.Before(c.End) {
			return fmt.Errorf("simulator at %s, ends %s", c.Now, c.End)
		}
		return nil
	})
	time.Sleep(3 * time.Second)
	want := deliveredEvents(t, deliveryDir)
	var r deliveryReport
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got, _ := sinkEvents(t, sinkPath)
		r = compareEvents(want, got)
		if r.lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	p.stop(t, 30*time.Second)
	sink.stop(t, 30*time.Second)
	t.Logf("RESULT exporter-outage down=%v (collector restarted during it): %v; %d records had arrived before the outage",
		outage, r, before.total())
	if r.lost > 0 {
		t.Errorf("records lost across the back-end outage: %v (first lost %v)", r, r.lostIDs[:min(5, len(r.lostIDs))])
	}
}
