//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrapeJob is the job name of the temporary Prometheus' scrape of the collector; series that
// arrived by remote write carry no such job.
const scrapeJob = "otelcol-scrape"

// startPrometheus runs a real Prometheus (Debian's package) that scrapes target every second
// and accepts remote write; it returns its base URL.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin := requireServerBinary(t, "PROMETHEUS_BIN", "prometheus", "/usr/bin/prometheus")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, scrapeJob, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddress(t)
	startServerProcess(t, "prometheus", bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.enable-remote-write-receiver",
		"--log.level=warn")
	base := "http://" + addr
	waitFor(t, 30*time.Second, "Prometheus ready", func() error { return expectStatus(base+"/-/ready", 200) })
	return base
}

// promSample is one series of an instant query.
type promSample struct {
	Labels map[string]string
	Value  float64
}

func promQuery(base, query string) ([]promSample, error) {
	code, body, err := httpGet(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("query %s: status %d: %s", query, code, tail(body, 300))
	}
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return nil, err
	}
	var out []promSample
	for _, r := range resp.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %w", r.Value[1], err)
		}
		out = append(out, promSample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// checkClusterWorkers compares databricks_cluster_workers selected by matcher with the
// simulator's clusters: every cluster, every kind, the same value.
func checkClusterWorkers(base, matcher string, clusters []simCluster) error {
	got, err := promQuery(base, "databricks_cluster_workers{"+matcher+"}")
	if err != nil {
		return err
	}
	byKey := map[string]float64{}
	for _, s := range got {
		byKey[s.Labels["databricks_cluster_id"]+"/"+s.Labels["kind"]] = s.Value
	}
	for _, c := range clusters {
		for kind, want := range c.expectedWorkers() {
			v, ok := byKey[c.ID+"/"+kind]
			if !ok {
				return fmt.Errorf("no databricks_cluster_workers{%s,databricks_cluster_id=%q,kind=%q} (have %d series)", matcher, c.ID, kind, len(got))
			}
			if v != float64(want) {
				return fmt.Errorf("databricks_cluster_workers{%s,databricks_cluster_id=%q,kind=%q} = %v, the simulator says %d", matcher, c.ID, kind, v, want)
			}
		}
	}
	return nil
}

// TestPrometheusScrapeAndRemoteWrite runs configs/prometheus.yaml against the simulator and a
// real Prometheus that both scrapes the collector and receives its remote write. Prometheus must
// hold databricks_cluster_workers (dashboards/README.md) with the simulator's values and the
// findings counter for the attacks of the ground truth, through both paths.
func TestPrometheusScrapeAndRemoteWrite(t *testing.T) {
	// Backfill: the workspace's state is frozen at the end of the timeline, so the collector and
	// the test read the same values. The timeline ends now, so the audit receiver's first poll
	// reads every event and the attacks happened within the last day.
	sim := startSimulator(t, "--scenario", "configs/sim/attacks.yaml", "--start", "now-360h")
	clusters := sim.clusters(t)

	exporterAddr := freeAddress(t)
	prom := startPrometheus(t, exporterAddr)
	_, telemetryPort, _ := net.SplitHostPort(freeAddress(t))
	cfg := shippedConfig(t, "prometheus.yaml")
	rc := startCollector(t, cfg, append(sim.env(t),
		"PROMETHEUS_EXPORTER_ENDPOINT="+exporterAddr,
		"PROMETHEUS_REMOTE_WRITE_ENDPOINT="+prom+"/api/v1/write",
		"HEALTH_CHECK_ENDPOINT="+freeAddress(t),
		"OTELCOL_TELEMETRY_PORT="+telemetryPort,
		"OTELCOL_STORAGE_DIR="+t.TempDir(),
		"COLLECTION_INTERVAL=2s",
		"SELF_SCRAPE_INTERVAL=2s",
		"BATCH_TIMEOUT=200ms",
		"AUDIT_POLL_INTERVAL=2s",
		"AUDIT_POLL_DELAY=0s",
		"AUDIT_INITIAL_LOOKBACK=400h",
	)...)

	waitFor(t, 60*time.Second, "databricks_cluster_workers scraped by Prometheus", func() error {
		return checkClusterWorkers(prom, fmt.Sprintf("job=%q", scrapeJob), clusters)
	})
	waitFor(t, 60*time.Second, "databricks_cluster_workers remote-written to Prometheus", func() error {
		return checkClusterWorkers(prom, fmt.Sprintf("job!=%q", scrapeJob), clusters)
	})
	waitFor(t, 60*time.Second, "the collector's own telemetry in Prometheus", func() error {
		got, err := promQuery(prom, fmt.Sprintf("otelcol_exporter_sent_metric_points_total{job=%q,exporter=%q}", scrapeJob, "prometheus_remote_write"))
		if err != nil {
			return err
		}
		if len(got) == 0 || got[0].Value <= 0 {
			return fmt.Errorf("otelcol_exporter_sent_metric_points_total for prometheus_remote_write: %v", got)
		}
		return nil
	})

	checkFindingsCounted(t, prom, sim.truth(t))
	rc.stop(t, 20*time.Second)
}

// checkFindingsCounted waits until the findings counter, by scrape and by remote write, counts
// a finding for each single-event attack of the ground truth, for the attacked identity.
func checkFindingsCounted(t *testing.T, prom string, truth groundTruth) {
	t.Helper()
	for _, via := range []string{fmt.Sprintf("job=%q", scrapeJob), fmt.Sprintf("job!=%q", scrapeJob)} {
		waitFor(t, 90*time.Second, "databricks_access_anomaly_findings_total{"+via+"}", func() error {
			var missing []string
			for _, exp := range truth.Expectations {
				if !clearCutRules[exp.Rule] || exp.Identity == "" {
					continue
				}
				q := fmt.Sprintf("databricks_access_anomaly_findings_total{%s,security_rule_uuid=%q,user_email=%q}", via, exp.Rule, exp.Identity)
				got, err := promQuery(prom, q)
				if err != nil {
					return err
				}
				if len(got) == 0 || got[0].Value < 1 {
					all, _ := promQuery(prom, fmt.Sprintf("databricks_access_anomaly_findings_total{%s,security_rule_uuid=%q}", via, exp.Rule))
					missing = append(missing, fmt.Sprintf("%s for %s (the rule's series: %v)", exp.Rule, exp.Identity, all))
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("no finding counted for %s", strings.Join(missing, "; "))
			}
			return nil
		})
	}
}

// clearCutRules fire on the attack's own events, without a learned baseline or site lists
// (DBX-S20 needs `sensitive_tables`, which only demo.yaml sets), so every shipped config must
// report them.
var clearCutRules = map[string]bool{
	"DBX-S01": true, "DBX-S03": true, "DBX-S08": true, "DBX-S12": true,
	"DBX-W01": true, "DBX-W05": true,
}
