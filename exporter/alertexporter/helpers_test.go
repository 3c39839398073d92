// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter/internal/metadata"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// t0 is the fixed "now" of the tests: the time the exporter receives findings.
var t0 = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

// fakeClock is the injectable clock of the exporter.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// findingSpec describes a finding record; zero fields take the defaults of
// the DBX-W01 example below.
type findingSpec struct {
	rule     string
	severity string
	user     string
	ip       string
	body     string
	dedupKey string
}

// appendFinding adds a finding record shaped as DESIGN §3.3 prescribes.
func appendFinding(sl plog.ScopeLogs, s findingSpec) plog.LogRecord {
	if s.rule == "" {
		s.rule = "DBX-W01"
	}
	if s.severity == "" {
		s.severity = "high"
	}
	if s.user == "" {
		s.user = "alice@corp.com"
	}
	if s.ip == "" {
		s.ip = "198.51.100.7"
	}
	if s.body == "" {
		s.body = s.user + ": 6 failed logins in 12m from " + s.ip
	}
	if s.dedupKey == "" {
		s.dedupKey = s.rule + "|" + s.user
	}
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 26, 9, 12, 0, 0, time.UTC)))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 26, 9, 12, 1, 0, time.UTC)))
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.SetSeverityText("ERROR")
	lr.Body().SetStr(s.body)
	a := lr.Attributes()
	a.PutStr("event.name", "databricks.access_anomaly")
	a.PutStr("security_rule.uuid", s.rule)
	a.PutStr("security_rule.name", "Failed-login burst")
	a.PutStr("security_rule.category", "credential_access")
	a.PutStr("security_rule.ruleset.name", "databricks-access-anomaly")
	a.PutStr("security_rule.reference", "https://attack.mitre.org/techniques/T1110/")
	a.PutStr("anomaly.detector", "threshold")
	a.PutStr("anomaly.severity", s.severity)
	a.PutInt("anomaly.score", 82)
	a.PutStr("anomaly.reason", "6 failed logins in 60m (threshold 5)")
	a.PutStr("anomaly.mode", "live")
	a.PutInt("anomaly.baseline.threshold", 5)
	a.PutStr("anomaly.baseline.window", "60m")
	tech := a.PutEmptySlice("threat.technique.id")
	tech.AppendEmpty().SetStr("T1110")
	tech.AppendEmpty().SetStr("T1110.001")
	a.PutStr("user.email", s.user)
	a.PutStr("source.address", s.ip)
	a.PutStr("user_agent.original", "Mozilla/5.0")
	a.PutStr("databricks.service_name", "accounts")
	a.PutStr("databricks.action_name", "login")
	a.PutStr("alert.dedup_key", s.dedupKey)
	a.PutInt("alert.count", 6)
	a.PutStr("alert.first_event_time", "2026-11-26T09:00:00Z")
	a.PutStr("alert.last_event_time", "2026-11-26T09:12:00Z")
	ids := a.PutEmptySlice("databricks.event_ids")
	for _, id := range []string{"ev-1", "ev-2", "ev-3"} {
		ids.AppendEmpty().SetStr(id)
	}
	return lr
}

// newScopeLogs returns a batch with one resource (a Databricks workspace)
// and one scope to append records to.
func newScopeLogs() (plog.Logs, plog.ScopeLogs) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("databricks.workspace.id", "1234567890123456")
	rl.Resource().Attributes().PutStr("cloud.provider", "azure")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor")
	sl.Scope().SetVersion("0.1.0")
	return ld, sl
}

// findingsLogs is a batch holding the given findings.
func findingsLogs(specs ...findingSpec) plog.Logs {
	ld, sl := newScopeLogs()
	for _, s := range specs {
		appendFinding(sl, s)
	}
	return ld
}

// appendAuditRecord adds an ordinary audit record, which the exporter must
// ignore.
func appendAuditRecord(sl plog.ScopeLogs) {
	lr := sl.LogRecords().AppendEmpty()
	lr.Attributes().PutStr("event.name", "databricks.audit")
	lr.Attributes().PutStr("user.email", "bob@corp.com")
	lr.Attributes().PutStr("security_rule.uuid", "not-a-finding")
	lr.Body().SetStr("audit")
}

// recordedRequest is what a fake target received.
type recordedRequest struct {
	Path    string
	Header  http.Header
	Body    []byte
	Arrived time.Time
}

// fakeTarget is an httptest server that records requests and answers with
// the status the test scripts (200 by default).
type fakeTarget struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
	respond  func(n int, r *http.Request) (int, http.Header, string)
}

func newFakeTarget(t *testing.T) *fakeTarget {
	ft := &fakeTarget{}
	ft.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ft.mu.Lock()
		ft.requests = append(ft.requests, recordedRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Arrived: time.Now()})
		n := len(ft.requests)
		respond := ft.respond
		ft.mu.Unlock()
		status, header, answer := http.StatusOK, http.Header(nil), "ok"
		if respond != nil {
			status, header, answer = respond(n, r)
		}
		for k, vs := range header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(ft.Close)
	return ft
}

func (ft *fakeTarget) setResponder(f func(n int, r *http.Request) (int, http.Header, string)) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.respond = f
}

func (ft *fakeTarget) answerAlways(status int, answer string) {
	ft.setResponder(func(int, *http.Request) (int, http.Header, string) { return status, nil, answer })
}

func (ft *fakeTarget) received() []recordedRequest {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]recordedRequest(nil), ft.requests...)
}

func (ft *fakeTarget) count() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.requests)
}

// targetsConfig says which fake targets an exporter config points at.
type targetsConfig struct {
	alertmanager, slack, pagerduty, webhook *fakeTarget
}

// testConfig is the default config with the given targets and no queue or
// retry, so pushLogs results can be inspected directly.
func testConfig(tc targetsConfig) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	if tc.alertmanager != nil {
		am := AlertmanagerConfig{ClientConfig: defaultClientConfig(tc.alertmanager.URL), GeneratorURL: "https://grafana.example.com/d/access"}
		cfg.Alertmanager = configoptional.Some(am)
	}
	if tc.slack != nil {
		cfg.Slack = configoptional.Some(SlackConfig{WebhookURL: slackURL(tc.slack), ClientConfig: defaultClientConfig("")})
	}
	if tc.pagerduty != nil {
		cfg.PagerDuty = configoptional.Some(PagerDutyConfig{RoutingKey: testRoutingKey, ClientConfig: defaultClientConfig(tc.pagerduty.URL + "/v2/enqueue")})
	}
	if tc.webhook != nil {
		wh := WebhookConfig{ClientConfig: defaultClientConfig(tc.webhook.URL + "/hook")}
		wh.ClientConfig.Headers.Set("Authorization", "Bearer "+testHeaderSecret)
		cfg.Webhook = configoptional.Some(wh)
	}
	return cfg
}

const (
	testRoutingKey   = "R0UT1NGKEYsecret0000000000000000"
	testHeaderSecret = "hdr-s3cr3t-value"
	testSlackSecret  = "T000/B000/slack-s3cr3t"
)

func slackURL(ft *fakeTarget) configopaque.String {
	return configopaque.String(ft.URL + "/services/" + testSlackSecret)
}

// startedExporter builds the exporter directly (not through
// exporterhelper) with an injected clock, and starts it.
func startedExporter(t *testing.T, cfg *Config, clock *fakeClock) *alertExporter {
	t.Helper()
	require.NoError(t, cfg.Validate())
	e, err := newAlertExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	e.now = clock.Now
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost(), componenttest.NewNopTelemetrySettings()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })
	return e
}

// assertGolden compares JSON with testdata/golden/<name>, both indented the
// same way so diffs are readable; -update rewrites the file.
func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(got, &v), "payload is not JSON: %s", got)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	pretty := buf.Bytes()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, pretty, 0o600))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -run %s -update", t.Name())
	if !bytes.Equal(want, pretty) {
		require.JSONEq(t, string(want), string(pretty))
	}
}
