//go:build e2e

package e2e

import (
	"encoding/json"
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

// startAlertmanager runs a real Alertmanager (Debian's package) without clustering and returns
// its base URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := requireServerBinary(t, "ALERTMANAGER_BIN", "alertmanager", "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
	dir := t.TempDir()
	cfg := `route:
  receiver: security
  group_by: [alertname, user]
  group_wait: 1s
receivers:
  - name: security
`
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddress(t)
	startServerProcess(t, "alertmanager", bin,
		"--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--log.level=warn")
	base := "http://" + addr
	waitFor(t, 30*time.Second, "Alertmanager ready", func() error { return expectStatus(base+"/-/ready", 200) })
	return base
}

type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
}

func amAlerts(base string) ([]amAlert, error) {
	code, body, err := httpGet(base + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET /api/v2/alerts: %d", code)
	}
	var alerts []amAlert
	return alerts, json.Unmarshal([]byte(body), &alerts)
}

// amReceived is Alertmanager's own count of alerts posted to it.
func amReceived(base string) (float64, error) {
	_, body, err := httpGet(base + "/metrics")
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "alertmanager_alerts_received_total") {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				return 0, err
			}
			total += v
		}
	}
	return total, nil
}

// TestAlertmanager runs configs/demo.yaml with its Alertmanager target against the simulator's
// `attacks` scenario: every clear-cut attack of the ground truth must become one Alertmanager
// alert labelled with the rule, the identity, a severity and the workspace. A second collector
// that detects the same findings again (fresh state, same events) re-sends them; Alertmanager
// must still hold exactly one alert per rule and identity.
func TestAlertmanager(t *testing.T) {
	am := startAlertmanager(t)

	sim := startSimulator(t, "--scenario", "configs/sim/attacks.yaml", "--start", "now-360h")
	truth := sim.truth(t)
	var webhookPosts atomic.Int64
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		webhookPosts.Add(1)
	}))
	defer webhook.Close()
	cfg := shippedConfig(t, "demo.yaml")

	run := func(stateDir string) *runningCollector {
		_, telemetryPort, _ := net.SplitHostPort(freeAddress(t))
		return startCollector(t, cfg, append(sim.env(t),
			"DEMO_ALERTMANAGER_ENABLED=true",
			"DEMO_ALERTMANAGER_ENDPOINT="+am,
			"DEMO_ALERT_WEBHOOK="+webhook.URL,
			"DEMO_HEALTH_CHECK_ENDPOINT="+freeAddress(t),
			"DEMO_PROMETHEUS_ENDPOINT="+freeAddress(t),
			"DEMO_OTLP_HTTP_ENDPOINT="+freeAddress(t),
			"DEMO_OTLP_GRPC_ENDPOINT="+freeAddress(t),
			"DEMO_TELEMETRY_PORT="+telemetryPort,
			"DEMO_STATE_DIR="+stateDir,
			"DEMO_OUT_DIR="+t.TempDir(),
			"DEMO_AUDIT_POLL_INTERVAL=2s",
			"DEMO_AUDIT_INITIAL_LOOKBACK=400h",
			"DEMO_COLLECTION_INTERVAL=5s",
		)...)
	}

	// onePerGroup checks that every clear-cut attack has its alert and no rule/identity pair
	// has two.
	onePerGroup := func() error {
		alerts, err := amAlerts(am)
		if err != nil {
			return err
		}
		perGroup := map[string]int{}
		for _, a := range alerts {
			perGroup[a.Labels["alertname"]+"|"+a.Labels["user"]]++
		}
		for group, n := range perGroup {
			if n > 1 {
				return fmt.Errorf("%d alerts for %s", n, group)
			}
		}
		for _, exp := range truth.Expectations {
			if !clearCutRules[exp.Rule] || exp.Identity == "" {
				continue
			}
			found := false
			for _, a := range alerts {
				if a.Labels["alertname"] != exp.Rule || a.Labels["user"] != exp.Identity {
					continue
				}
				found = true
				// A finding carries the workspace of the event that raised it: account-level
				// events (logins among them) have workspace "0" (DESIGN §3.1).
				workspaceOK := a.Labels["workspace"] == truth.WorkspaceID || a.Labels["workspace"] == "0"
				if a.Labels["severity"] == "" || !workspaceOK || a.Annotations["summary"] == "" {
					return fmt.Errorf("alert %s for %s: labels %v, annotations %v", exp.Rule, exp.Identity, a.Labels, a.Annotations)
				}
				if !a.EndsAt.After(time.Now()) {
					return fmt.Errorf("alert %s for %s already ended at %v", exp.Rule, exp.Identity, a.EndsAt)
				}
			}
			if !found {
				return fmt.Errorf("no alert %s for %s among %d alerts", exp.Rule, exp.Identity, len(alerts))
			}
		}
		return nil
	}

	first := run(t.TempDir())
	waitFor(t, 90*time.Second, "an Alertmanager alert for every clear-cut attack", onePerGroup)
	// Findings of other groups may still be on their way: wait until the collector has sent
	// everything (no new alert for 8 s, four audit polls) ...
	before, err := amReceived(am)
	if err != nil {
		t.Fatal(err)
	}
	stableSince := time.Now()
	waitFor(t, 90*time.Second, "the alert stream to settle", func() error {
		now, err := amReceived(am)
		if err != nil {
			return err
		}
		if now != before {
			before, stableSince = now, time.Now()
		}
		if time.Since(stableSince) < 8*time.Second {
			return fmt.Errorf("%v alerts received, the last within 8 s", now)
		}
		return nil
	})
	// ... then the audit receiver keeps re-reading its overlap window: nothing new may be sent.
	postsBefore := webhookPosts.Load()
	time.Sleep(8 * time.Second)
	if after, err := amReceived(am); err != nil || after != before {
		t.Errorf("Alertmanager received %v alerts, then %v while nothing new happened (%v)", before, after, err)
	}
	if webhookPosts.Load() != postsBefore {
		t.Errorf("the webhook got %d more notifications while nothing new happened", webhookPosts.Load()-postsBefore)
	}
	first.stop(t, 20*time.Second)

	// Same events, fresh state: every finding is raised and sent once more.
	second := run(t.TempDir())
	waitFor(t, 90*time.Second, "the findings re-sent to Alertmanager", func() error {
		now, err := amReceived(am)
		if err != nil {
			return err
		}
		if now <= before {
			return fmt.Errorf("alertmanager_alerts_received_total still %v", now)
		}
		return nil
	})
	time.Sleep(3 * time.Second)
	if err := onePerGroup(); err != nil {
		t.Errorf("after the re-send: %v", err)
	}
	second.stop(t, 20*time.Second)
}
