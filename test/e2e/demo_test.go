//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDemoConfig starts the binary with configs/demo.yaml, as `make run` does, on free ports:
// the health check must answer within 10 s, an OTLP metric sent to it must show up on the
// Prometheus endpoint, and SIGTERM must stop it cleanly.
func TestDemoConfig(t *testing.T) {
	health := freeAddress(t)
	promAddr := freeAddress(t)
	otlpHTTP := freeAddress(t)
	_, telemetryPort, _ := net.SplitHostPort(freeAddress(t))
	rc := startCollector(t, "configs/demo.yaml",
		"DEMO_HEALTH_CHECK_ENDPOINT="+health,
		"DEMO_PROMETHEUS_ENDPOINT="+promAddr,
		"DEMO_OTLP_HTTP_ENDPOINT="+otlpHTTP,
		"DEMO_OTLP_GRPC_ENDPOINT="+freeAddress(t),
		"DEMO_TELEMETRY_PORT="+telemetryPort,
	)

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

	waitFor(t, 15*time.Second, "OTLP metric on the Prometheus endpoint", func() error {
		_, body, err := httpGet("http://" + promAddr + "/metrics")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "e2e_demo_gauge{") && strings.HasSuffix(line, " 42.5") {
				return nil
			}
		}
		return fmt.Errorf("e2e_demo_gauge 42.5 not exposed yet")
	})
	// The self-scrape feeds the collector's own telemetry through the same pipeline.
	waitFor(t, 30*time.Second, "self-telemetry on the Prometheus endpoint", func() error {
		_, body, err := httpGet("http://" + promAddr + "/metrics")
		if err != nil {
			return err
		}
		if !strings.Contains(body, "otelcol_receiver_accepted_metric_points") {
			return fmt.Errorf("otelcol_receiver_accepted_metric_points not exposed yet")
		}
		return nil
	})
	rc.stop(t, 15*time.Second)
}
