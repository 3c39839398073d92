//go:build reliability

package reliability

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// secretValues are credentials with markers no other output can contain by chance.
var secretValues = map[string]string{
	"PAT":               "dapi-RELSECRET-pat-5c1e0b7a9d",
	"OAUTH_SECRET":      "RELSECRET-oauth-secret-8f2d6e",
	"WEBHOOK_HEADER":    "Bearer RELSECRET-webhook-3a9f",
	"PAGERDUTY_KEY":     "RELSECRET-pd-routing-71c4",
	"SLACK_WEBHOOK_URL": "http://127.0.0.1:1/services/T000/B000/RELSECRET-slack-e6b2",
}

func secretEnv() []string {
	var env []string
	for k, v := range secretValues {
		env = append(env, "REL_"+k+"="+v)
	}
	return env
}

// secretsConfig uses every credential the distribution accepts, from the environment as a
// user would write it.
func secretsConfig(simURL, storageDir string, ports collectorPorts, warehouseID string) string {
	return fmt.Sprintf(`extensions:
  health_check:
    endpoint: %s
  zpages:
    endpoint: %s
  file_storage:
    directory: %s
    create_directory: true
    directory_permissions: "0700"
receivers:
  databricks_audit:
    source: system_table
    endpoint: %s
    token: ${env:REL_PAT}
    storage: file_storage
    system_table:
      warehouse_id: %s
      poll_interval: 2s
      initial_lookback: 1h
      delay: 0s
  databricks:
    endpoint: %s
    client_id: sim-client
    client_secret: ${env:REL_OAUTH_SECRET}
    collection_interval: 2s
    initial_delay: 0s
    storage: file_storage
exporters:
  debug:
    verbosity: basic
  alert:
    webhook:
      endpoint: http://127.0.0.1:1/hook
      headers:
        Authorization: ${env:REL_WEBHOOK_HEADER}
    pagerduty:
      routing_key: ${env:REL_PAGERDUTY_KEY}
    slack:
      webhook_url: ${env:REL_SLACK_WEBHOOK_URL}
service:
  extensions: [health_check, zpages, file_storage]
  telemetry:
    logs:
      level: debug
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: %s
                port: %s
  pipelines:
    logs:
      receivers: [databricks_audit, databricks]
      exporters: [debug, alert]
    metrics:
      receivers: [databricks]
      exporters: [debug]
`, ports.health, ports.zpages, storageDir, simURL, warehouseID, simURL,
		hostOf(ports.telemetry), portOf(ports.telemetry))
}

func hostOf(addr string) string { return addr[:strings.LastIndex(addr, ":")] }
func portOf(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

// TestSecretsNeverLeak runs with every credential set at debug log level and with zpages on,
// and looks for the values in everything the collector shows: its log, zpages, self-telemetry,
// validate and print-config.
func TestSecretsNeverLeak(t *testing.T) {
	requireComponents(t, "databricks_audit", "databricks", "alert", "file_storage", "zpages")
	sim := startSimulator(t, "--start", "now-30m", "--duration", "1h", "--speedup", "1",
		"--token", secretValues["PAT"], "--client-secret", secretValues["OAUTH_SECRET"])
	dir := t.TempDir()
	storageDir := filepath.Join(dir, "state")
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "secrets.yaml", secretsConfig(sim.url, storageDir, ports, sim.warehouseID(t)))
	env := secretEnv()

	var shown strings.Builder
	for _, args := range [][]string{
		{"validate", "--config", cfg},
		{"print-config", "--config", cfg},
		{"print-config", "--format", "json", "--config", cfg},
	} {
		out, err := runCollectorCommand(t, env, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		fmt.Fprintf(&shown, "== %v\n%s\n", args, out)
	}
	// The control: unredacted, the receivers' credentials are shown, so the values reach the
	// config and the search below would find a leak. (The alert exporter's configopaque fields
	// stay [REDACTED] even in this mode at this release.)
	unredacted, err := runCollectorCommand(t, env, "print-config", "--mode", "unredacted", "--config", cfg)
	mustf(t, err, "print-config --mode unredacted")
	for _, name := range []string{"PAT", "OAUTH_SECRET"} {
		if !strings.Contains(unredacted, secretValues[name]) {
			t.Errorf("control: print-config --mode unredacted does not show %s; the search for leaks would be blind", name)
		}
	}
	if !strings.Contains(shown.String(), "[REDACTED]") {
		t.Errorf("print-config shows no [REDACTED] value: the secret fields are not opaque, or print-config changed")
	}

	p := startCollector(t, cfg, env...)
	// Let both receivers authenticate and poll a few times (the OAuth token exchange, the
	// statement polls), so the secrets have been used where a leak would happen.
	waitFor(t, 60*time.Second, "both receivers have called the simulator", func() error {
		st := sim.stats(t)
		if st.Statements == 0 {
			return fmt.Errorf("no SQL statement yet")
		}
		for route, n := range st.Requests {
			if strings.Contains(route, "clusters") && n > 0 {
				return nil
			}
		}
		return fmt.Errorf("no clusters request yet: %v", st.Requests)
	})
	time.Sleep(3 * time.Second)

	for _, path := range []string{"/debug/servicez", "/debug/pipelinez", "/debug/extensionz", "/debug/featurez"} {
		code, body := get(t, "http://"+ports.zpages+path)
		if code != http.StatusOK {
			t.Errorf("zpages %s: status %d", path, code)
		}
		fmt.Fprintf(&shown, "== zpages %s\n%s\n", path, body)
	}
	code, metrics := get(t, "http://"+ports.telemetry+"/metrics")
	if code != http.StatusOK || !strings.Contains(metrics, "otelcol_") {
		t.Errorf("self-telemetry: status %d, no otelcol_ metrics", code)
	}
	fmt.Fprintf(&shown, "== self-telemetry\n%s\n", metrics)
	p.stop(t, 30*time.Second)
	log := p.output.String()
	if !strings.Contains(log, `"level":"debug"`) && !strings.Contains(log, "\tdebug\t") {
		t.Errorf("the collector log has no debug line: the test did not run at debug level")
	}
	fmt.Fprintf(&shown, "== collector log\n%s\n", log)

	all := shown.String()
	for name, v := range secretValues {
		// Also the distinctive part alone, in case a value is shown cut or with a prefix removed.
		marker := v[strings.Index(v, "RELSECRET"):]
		if strings.Contains(all, marker) {
			i := strings.Index(all, marker)
			t.Errorf("secret %s appears in the collector's output: ...%s...", name, all[max(0, i-200):min(len(all), i+100)])
		}
	}

	checkStatePermissions(t, storageDir)
}

// checkStatePermissions: the checkpoint files hold no credential, but they reveal what was
// read; they must be private to the collector's user.
func checkStatePermissions(t *testing.T, storageDir string) {
	t.Helper()
	fi, err := os.Stat(storageDir)
	mustf(t, err, "storage directory")
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("storage directory mode %o, want 700 (directory_permissions: \"0700\")", got)
	}
	entries, err := os.ReadDir(storageDir)
	mustf(t, err, "read storage directory")
	if len(entries) == 0 {
		t.Fatalf("file_storage created no state file in %s", storageDir)
	}
	for _, e := range entries {
		info, err := e.Info()
		mustf(t, err, "stat %s", e.Name())
		if info.IsDir() {
			continue
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("state file %s mode %o, want 600", e.Name(), got)
		}
	}
}

// TestFileStorageDefaultDirectoryMode records contrib's default: a directory created by
// file_storage without directory_permissions is 0750 (minus umask), not 0700.
// RELIABILITY.md tells users to set directory_permissions: "0700" or create it themselves.
func TestFileStorageDefaultDirectoryMode(t *testing.T) {
	requireComponents(t, "databricks_audit", "file_storage")
	dir := t.TempDir()
	storageDir := filepath.Join(dir, "state")
	deliveryDir := filepath.Join(dir, "audit")
	mustf(t, os.MkdirAll(deliveryDir, 0o700), "delivery dir")
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "storage.yaml", withExtension(fmt.Sprintf(`receivers:
  databricks_audit:
    source: delivery
    storage: file_storage
    delivery:
      url: file://%s
      poll_interval: 1s
exporters:
  debug: {}
`, deliveryDir)+ports.serviceYAML("databricks_audit", "", "debug"),
		"file_storage", "    directory: "+storageDir+"\n    create_directory: true\n"))
	p := startCollector(t, cfg)
	waitFor(t, 30*time.Second, "state file created", func() error {
		entries, _ := os.ReadDir(storageDir)
		if len(entries) == 0 {
			return fmt.Errorf("no state file in %s", storageDir)
		}
		return nil
	})
	p.stop(t, 30*time.Second)
	fi, err := os.Stat(storageDir)
	mustf(t, err, "storage directory")
	if got := fi.Mode().Perm(); got&0o027 != 0o000 || got&0o700 != 0o700 {
		t.Errorf("default storage directory mode %o: group-writable or world-accessible", got)
	}
	t.Logf("file_storage default directory mode: %o (contrib default directory_permissions 0750 minus umask)", fi.Mode().Perm())
	entries, _ := os.ReadDir(storageDir)
	for _, e := range entries {
		info, _ := e.Info()
		if !info.IsDir() && info.Mode().Perm() != 0o600 {
			t.Errorf("state file %s mode %o, want 600", e.Name(), info.Mode().Perm())
		}
	}
}

// TestTLSVerificationIsOnByDefault puts the simulator behind a TLS proxy with a certificate
// no system pool trusts: the receiver must refuse it by default, and connect once told to
// trust the CA (ca_file) or to skip verification.
func TestTLSVerificationIsOnByDefault(t *testing.T) {
	requireComponents(t, "databricks_audit")
	sim := startSimulator(t, "--start", "now-30m", "--duration", "1h", "--speedup", "1")
	target, err := url.Parse(sim.url)
	mustf(t, err, "sim url")
	var served atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	defer tlsServer.Close()
	// the refused handshakes of the first case are expected; keep them out of the test log
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	mustf(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsServer.Certificate().Raw}), 0o600), "ca file")
	warehouse := sim.warehouseID(t)

	cases := []struct {
		name      string
		tls       string
		wantServe bool
	}{
		{name: "default verifies and refuses", tls: "", wantServe: false},
		{name: "ca_file trusts the server", tls: "    tls:\n      ca_file: " + caFile + "\n", wantServe: true},
		{name: "insecure_skip_verify connects", tls: "    tls:\n      insecure_skip_verify: true\n", wantServe: true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := served.Load()
			ports := newCollectorPorts(t)
			cfg := writeFile(t, dir, fmt.Sprintf("tls%d.yaml", i), fmt.Sprintf(`receivers:
  databricks_audit:
    source: system_table
    endpoint: %s
    token: %s
%s    system_table:
      warehouse_id: %s
      poll_interval: 1s
      delay: 0s
exporters:
  debug: {}
`, tlsServer.URL, simToken, tc.tls, warehouse)+ports.serviceYAML("databricks_audit", "", "debug"))
			p := startCollector(t, cfg)
			if tc.wantServe {
				waitFor(t, 30*time.Second, "a request through TLS", func() error {
					if served.Load() == before {
						return fmt.Errorf("no request reached the TLS server")
					}
					return nil
				})
			} else {
				waitFor(t, 30*time.Second, "a certificate error in the log", func() error {
					if !strings.Contains(p.output.String(), "certificate") {
						return fmt.Errorf("no certificate error logged yet")
					}
					return nil
				})
				if n := served.Load() - before; n != 0 {
					t.Errorf("%d requests were served over an unverified TLS connection", n)
				}
			}
			p.stop(t, 30*time.Second)
		})
	}
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	mustf(t, err, "GET %s", u)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	mustf(t, err, "read %s", u)
	return resp.StatusCode, string(b)
}
