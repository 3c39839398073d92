// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// alertmanagerBinary finds a real Alertmanager: $ALERTMANAGER_BIN, then
// alertmanager on PATH, then the Debian package's binary names.
func alertmanagerBinary() string {
	if p := os.Getenv("ALERTMANAGER_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("alertmanager"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/alertmanager", "/usr/bin/prometheus-alertmanager"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// startAlertmanager runs a real Alertmanager on a loopback port with a
// temporary config and storage, and returns its base URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := alertmanagerBinary()
	if bin == "" {
		if os.Getenv("CI") == "" {
			t.Skip("no Alertmanager binary (install Debian's prometheus-alertmanager); required when CI is set")
		}
		t.Fatal("CI is set but no Alertmanager binary was found (alertmanager, /usr/bin/prometheus-alertmanager or $ALERTMANAGER_BIN)")
	}

	dir := t.TempDir()
	configPath := filepath.Join(dir, "alertmanager.yml")
	require.NoError(t, os.WriteFile(configPath, []byte(`route:
  receiver: blackhole
  group_by: [alertname, user]
receivers:
  - name: blackhole
`), 0o600))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	var output strings.Builder
	cmd := exec.Command(bin,
		"--config.file="+configPath,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // no gossip: a single, isolated instance
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &output, &output
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", output.String())
		}
	})

	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "alertmanager did not become ready")
	return base
}

// gettableAlert is the part of Alertmanager's GET /api/v2/alerts answer the
// test checks.
type gettableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

func TestRealAlertmanager(t *testing.T) {
	base := startAlertmanager(t)

	cfg := createDefaultConfig().(*Config)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.Alertmanager = configoptional.Some(AlertmanagerConfig{
		ClientConfig: defaultClientConfig(base),
		GeneratorURL: "https://grafana.example.com/d/access",
	})
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), settingsForTest(), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	before := time.Now()
	// Events from hours ago: the alert must still be active now.
	require.NoError(t, exp.ConsumeLogs(context.Background(), findingsLogs(
		findingSpec{},
		findingSpec{rule: "DBX-S01", severity: "critical", user: "mallory@corp.com", ip: "203.0.113.9", body: "mallory@corp.com granted workspace admin to eve@corp.com"},
	)))

	resp, err := http.Get(base + "/api/v2/alerts?active=true")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got []gettableAlert
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Len(t, got, 2)

	byName := map[string]gettableAlert{}
	for _, a := range got {
		byName[a.Labels["alertname"]] = a
	}
	w01 := byName["DBX-W01"]
	assert.Equal(t, map[string]string{
		"alertname": "DBX-W01", "severity": "high", "user": "alice@corp.com",
		"workspace": "1234567890123456", "source_ip": "198.51.100.7",
	}, w01.Labels)
	assert.Equal(t, "active", w01.Status.State)
	assert.Equal(t, "alice@corp.com: 6 failed logins in 12m from 198.51.100.7", w01.Annotations["summary"])
	assert.Equal(t, "T1110, T1110.001", w01.Annotations["attack"])
	assert.True(t, w01.StartsAt.Equal(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)), "startsAt %s", w01.StartsAt)
	assert.WithinDuration(t, before.Add(time.Hour), w01.EndsAt, time.Minute, "endsAt = receive time + repeat_interval")

	s01 := byName["DBX-S01"]
	assert.Equal(t, "critical", s01.Labels["severity"])
	assert.Equal(t, "mallory@corp.com", s01.Labels["user"])
	assert.Equal(t, "active", s01.Status.State)
}
