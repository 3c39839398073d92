//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// demoEnv moves every address of configs/demo.yaml to a free port and its files to temporary
// directories.
func demoEnv(t *testing.T) (env []string, health, promAddr, otlpHTTP, outDir string) {
	t.Helper()
	health, promAddr, otlpHTTP = freeAddress(t), freeAddress(t), freeAddress(t)
	_, telemetryPort, _ := net.SplitHostPort(freeAddress(t))
	outDir = t.TempDir()
	env = []string{
		"DEMO_HEALTH_CHECK_ENDPOINT=" + health,
		"DEMO_PROMETHEUS_ENDPOINT=" + promAddr,
		"DEMO_OTLP_HTTP_ENDPOINT=" + otlpHTTP,
		"DEMO_OTLP_GRPC_ENDPOINT=" + freeAddress(t),
		"DEMO_TELEMETRY_PORT=" + telemetryPort,
		"DEMO_STATE_DIR=" + t.TempDir(),
		"DEMO_OUT_DIR=" + outDir,
	}
	return env, health, promAddr, otlpHTTP, outDir
}

// metricSum sums the samples of one metric family on a Prometheus text page.
func metricSum(page, family string) (float64, int) {
	sum, n := 0.0, 0
	for _, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, family+"{") && !strings.HasPrefix(line, family+" ") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += v
			n++
		}
	}
	return sum, n
}

// TestDemoConfig starts the binary with configs/demo.yaml against the live demo simulation, as
// `make run` does, on free ports: the health check must answer within 10 s; workspace metrics, an
// OTLP metric sent to it and the collector's own telemetry must show up on the Prometheus
// endpoint; metrics must be written as JSON; audit events are counted, written as JSON and
// findings reach the webhook within a minute. SIGTERM must stop it cleanly.
func TestDemoConfig(t *testing.T) {
	sim := startSimulator(t, demoSimulation...)
	var findings atomic.Int64
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		findings.Add(1)
	}))
	defer webhook.Close()
	env, health, promAddr, otlpHTTP, outDir := demoEnv(t)
	cfg := shippedConfig(t, "demo.yaml")
	rc := startCollector(t, cfg, append(append(env, sim.env(t)...),
		"DEMO_ALERT_WEBHOOK="+webhook.URL,
		"DEMO_COLLECTION_INTERVAL=2s",
		"DEMO_AUDIT_POLL_INTERVAL=2s",
	)...)

	started := time.Now()
	waitFor(t, 10*time.Second, "health check", func() error {
		return expectStatus("http://"+health+"/", http.StatusOK)
	})
	t.Logf("health check answered after %v", time.Since(started).Round(time.Millisecond))

	metric := fmt.Sprintf(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"e2e"}}]},
	  "scopeMetrics":[{"metrics":[{"name":"e2e.demo.gauge","gauge":{"dataPoints":[{"asDouble":42.5,"timeUnixNano":"%d"}]}}]}]}]}`,
		time.Now().UnixNano())
	resp, err := http.Post("http://"+otlpHTTP+"/v1/metrics", "application/json", strings.NewReader(metric))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP/HTTP export: status %d", resp.StatusCode)
	}

	page := func() string {
		_, body, _ := httpGet("http://" + promAddr + "/metrics")
		return body
	}
	waitFor(t, 15*time.Second, "OTLP metric on the Prometheus endpoint", func() error {
		for _, line := range strings.Split(page(), "\n") {
			if strings.HasPrefix(line, "e2e_demo_gauge{") && strings.HasSuffix(line, " 42.5") {
				return nil
			}
		}
		return fmt.Errorf("e2e_demo_gauge 42.5 not exposed yet")
	})
	clusters := sim.clusters(t)
	waitFor(t, 30*time.Second, "a workers series per simulated cluster", func() error {
		if _, n := metricSum(page(), "databricks_cluster_workers"); n < 2*len(clusters) {
			return fmt.Errorf("%d databricks_cluster_workers series for %d clusters", n, len(clusters))
		}
		return nil
	})
	// The self-scrape feeds the collector's own telemetry through the same pipeline.
	waitFor(t, 30*time.Second, "self-telemetry on the Prometheus endpoint", func() error {
		if !strings.Contains(page(), "otelcol_receiver_accepted_metric_points") {
			return fmt.Errorf("otelcol_receiver_accepted_metric_points not exposed yet")
		}
		return nil
	})
	waitFor(t, 30*time.Second, "metrics written as JSON lines", func() error {
		return firstJSONLineContains(filepath.Join(outDir, "metrics.json"), `"databricks.cluster.workers"`)
	})

	waitFor(t, 60*time.Second, "audit events counted", func() error {
		if sum, _ := metricSum(page(), "databricks_audit_events_total"); sum <= 0 {
			return fmt.Errorf("databricks_audit_events_total = %v", sum)
		}
		return nil
	})
	waitFor(t, 60*time.Second, "a finding at the webhook", func() error {
		if findings.Load() == 0 {
			return fmt.Errorf("no notification yet")
		}
		return nil
	})
	waitFor(t, 10*time.Second, "audit records written as JSON lines", func() error {
		return firstJSONLineContains(filepath.Join(outDir, "audit.json"), `"databricks.audit"`)
	})
	rc.stop(t, 15*time.Second)
}

// firstJSONLineContains checks that a file exporter's output has a line containing want.
func firstJSONLineContains(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	lines := 0
	for sc.Scan() {
		lines++
		if strings.Contains(sc.Text(), want) {
			return nil
		}
	}
	return fmt.Errorf("%s: none of %d lines contains %s", path, lines, want)
}
