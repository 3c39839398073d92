// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestAlertmanagerPayload(t *testing.T) {
	am := newFakeTarget(t)
	e := startedExporter(t, testConfig(targetsConfig{alertmanager: am}), newFakeClock(t0))

	require.NoError(t, e.pushLogs(context.Background(), findingsLogs(
		findingSpec{},
		findingSpec{rule: "DBX-S01", severity: "critical", user: "mallory@corp.com", ip: "203.0.113.9", body: "mallory@corp.com granted workspace admin to eve@corp.com"},
	)))

	reqs := am.received()
	require.Len(t, reqs, 1, "one POST carries the whole batch")
	assert.Equal(t, "/api/v2/alerts", reqs[0].Path)
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
	assertGolden(t, "alertmanager.json", reqs[0].Body)

	var alerts []postableAlert
	require.NoError(t, json.Unmarshal(reqs[0].Body, &alerts))
	require.Len(t, alerts, 2)
	assert.Equal(t, map[string]string{
		"alertname": "DBX-W01", "severity": "high", "user": "alice@corp.com",
		"workspace": "1234567890123456", "source_ip": "198.51.100.7",
	}, alerts[0].Labels)
	// startsAt is the first event; endsAt is receive time + repeat_interval
	// even though the events are hours old.
	assert.Equal(t, "2026-11-26T09:00:00Z", alerts[0].StartsAt)
	assert.Equal(t, "2026-11-26T15:00:00Z", alerts[0].EndsAt)
	assert.Equal(t, "T1110, T1110.001", alerts[0].Annotations["attack"])
	assert.Equal(t, "alice@corp.com: 6 failed logins in 12m from 198.51.100.7", alerts[0].Annotations["summary"])
	assert.Contains(t, alerts[0].Annotations["description"], "reason: 6 failed logins in 60m (threshold 5)")
	assert.Contains(t, alerts[0].Annotations["description"], "event ids: ev-1, ev-2, ev-3")
}

func TestAlertmanagerEndpointForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://am:9093", "http://am:9093/api/v2/alerts"},
		{"http://am:9093/", "http://am:9093/api/v2/alerts"},
		{"http://am:9093/api/v2/alerts", "http://am:9093/api/v2/alerts"},
		{"https://gw.example.com/alertmanager", "https://gw.example.com/alertmanager/api/v2/alerts"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, alertmanagerURL(tt.in), tt.in)
	}
}

func TestAlertmanagerStartsAtNeverAfterEndsAt(t *testing.T) {
	am := newFakeTarget(t)
	e := startedExporter(t, testConfig(targetsConfig{alertmanager: am}), newFakeClock(t0))
	ld := findingsLogs(findingSpec{})
	// A producer with a fast clock: first event "in the future".
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr("alert.first_event_time", "2027-01-01T00:00:00Z")
	require.NoError(t, e.pushLogs(context.Background(), ld))
	var alerts []postableAlert
	require.NoError(t, json.Unmarshal(am.received()[0].Body, &alerts))
	assert.Equal(t, "2026-11-26T14:00:00Z", alerts[0].StartsAt, "clamped to the receive time")
}

func TestSlackPayload(t *testing.T) {
	slack := newFakeTarget(t)
	e := startedExporter(t, testConfig(targetsConfig{slack: slack}), newFakeClock(t0))

	require.NoError(t, e.pushLogs(context.Background(), findingsLogs(
		findingSpec{},
		findingSpec{rule: "DBX-W04", user: "bob@corp.com", body: "bob@corp.com: 31 exports <in> 1h & more"},
	)))

	reqs := slack.received()
	require.Len(t, reqs, 2, "one message per alert group")
	assert.Equal(t, "/services/"+testSlackSecret, reqs[0].Path)
	assertGolden(t, "slack.json", reqs[0].Body)

	var msg slackMessage
	require.NoError(t, json.Unmarshal(reqs[1].Body, &msg))
	assert.Equal(t, "[HIGH] DBX-W04: bob@corp.com: 31 exports &lt;in&gt; 1h &amp; more", msg.Text, "mrkdwn control characters are escaped")
}

func TestSlackMessageStaysWithinLimits(t *testing.T) {
	long := strings.Repeat("ü<&>", 20000) // multi-byte runes and characters that expand when escaped
	ld, sl := newScopeLogs()
	lr := appendFinding(sl, findingSpec{body: long, user: strings.Repeat("é", 5000)})
	lr.Attributes().PutStr("anomaly.reason", long)
	lr.Attributes().PutStr("security_rule.name", long)
	e := startedExporter(t, testConfig(targetsConfig{slack: newFakeTarget(t)}), newFakeClock(t0))
	alerts := e.collect(context.Background(), ld)
	require.Len(t, alerts, 1)

	msg := renderSlack(alerts[0].alert)
	assertWithin := func(what, s string, limit int) {
		t.Helper()
		assert.True(t, utf8.ValidString(s), "%s is valid UTF-8", what)
		assert.LessOrEqual(t, utf8.RuneCountInString(s), limit, what)
		assert.NotContains(t, s, "<", "%s has no raw <", what)
		// An escape sequence cut in half would show as text.
		trimmed := strings.TrimSuffix(s, ellipsis)
		for _, partial := range []string{"&a", "&am", "&l", "&g", "&lt", "&gt", "&amp"} {
			assert.False(t, strings.HasSuffix(trimmed, partial) && !strings.HasSuffix(trimmed, partial+";"), "%s ends with a partial entity", what)
		}
	}
	assertWithin("text", msg.Text, slackMaxText)
	assert.LessOrEqual(t, len(msg.Blocks), 50)
	for _, b := range msg.Blocks {
		switch b.Type {
		case "header":
			assert.LessOrEqual(t, utf8.RuneCountInString(b.Text.Text), slackMaxHeaderText)
		case "section":
			if b.Text != nil {
				assertWithin("section", b.Text.Text, slackMaxSectionText)
			}
			assert.LessOrEqual(t, len(b.Fields), slackMaxFields)
			for _, f := range b.Fields {
				assertWithin("field", f.Text, slackMaxFieldText)
			}
		case "context":
			for _, el := range b.Elements {
				assertWithin("context", el.Text, slackMaxContextText)
			}
		}
	}
	assert.True(t, strings.HasSuffix(msg.Text, ellipsis), "truncation is marked")
}

func TestPagerDutyPayload(t *testing.T) {
	pd := newFakeTarget(t)
	pd.answerAlways(202, `{"status":"success","message":"Event processed","dedup_key":"DBX-W01|alice@corp.com"}`)
	e := startedExporter(t, testConfig(targetsConfig{pagerduty: pd}), newFakeClock(t0))

	require.NoError(t, e.pushLogs(context.Background(), findingsLogs(findingSpec{})))

	reqs := pd.received()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v2/enqueue", reqs[0].Path)
	assertGolden(t, "pagerduty.json", reqs[0].Body)

	var ev pagerDutyEvent
	require.NoError(t, json.Unmarshal(reqs[0].Body, &ev))
	assert.Equal(t, "trigger", ev.EventAction)
	assert.Equal(t, testRoutingKey, ev.RoutingKey)
	assert.Equal(t, "DBX-W01|alice@corp.com", ev.DedupKey)
	assert.Equal(t, "error", ev.Payload.Severity)
}

func TestPagerDutySeverityMapping(t *testing.T) {
	tests := []struct {
		severity string
		want     string
	}{
		{"critical", "critical"},
		{"high", "error"},
		{"medium", "warning"},
		{"low", "info"},
		{"info", "info"},
	}
	for _, tt := range tests {
		t.Run(tt.severity, func(t *testing.T) {
			pd := newFakeTarget(t)
			cfg := testConfig(targetsConfig{pagerduty: pd})
			cfg.MinSeverity = SeverityInfo
			e := startedExporter(t, cfg, newFakeClock(t0))
			require.NoError(t, e.pushLogs(context.Background(), findingsLogs(findingSpec{severity: tt.severity})))
			var ev pagerDutyEvent
			require.NoError(t, json.Unmarshal(pd.received()[0].Body, &ev))
			assert.Equal(t, tt.want, ev.Payload.Severity)
		})
	}
}

func TestPagerDutyLimits(t *testing.T) {
	a := &alert{finding: &finding{RuleID: "DBX-W01", Severity: SeverityHigh, Summary: strings.Repeat("ß", 3000), DedupKey: strings.Repeat("k", 300)}, GroupValues: []string{"x"}}
	ev := renderPagerDuty(a, "key")
	assert.Equal(t, pagerDutyMaxSummary, utf8.RuneCountInString(ev.Payload.Summary))
	assert.LessOrEqual(t, len(ev.DedupKey), pagerDutyMaxDedupKey)
	assert.Equal(t, ev.DedupKey, renderPagerDuty(a, "key").DedupKey, "stable across repeats")

	a.DedupKey = ""
	missing := renderPagerDuty(a, "key").DedupKey
	assert.NotEmpty(t, missing)
	a.GroupValues = []string{"y"}
	assert.NotEqual(t, missing, renderPagerDuty(a, "key").DedupKey, "different groups, different incidents")
}

func TestWebhookPayload(t *testing.T) {
	wh := newFakeTarget(t)
	e := startedExporter(t, testConfig(targetsConfig{webhook: wh}), newFakeClock(t0))
	ld, sl := newScopeLogs()
	lr := appendFinding(sl, findingSpec{})
	// Values JSON cannot carry as such must still produce a document.
	lr.Attributes().PutDouble("anomaly.baseline.mean", 1.5)
	lr.Attributes().PutEmptyBytes("raw").FromRaw([]byte{0xde, 0xad})
	nested := lr.Attributes().PutEmptyMap("geo")
	nested.PutStr("country", "DE")

	require.NoError(t, e.pushLogs(context.Background(), ld))

	reqs := wh.received()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/hook", reqs[0].Path)
	assert.Equal(t, "Bearer "+testHeaderSecret, reqs[0].Header.Get("Authorization"), "configured headers are sent")
	assertGolden(t, "webhook.json", reqs[0].Body)

	var doc map[string]any
	require.NoError(t, json.Unmarshal(reqs[0].Body, &doc))
	attrs := doc["attributes"].(map[string]any)
	assert.Equal(t, "DBX-W01", attrs["security_rule.uuid"])
	assert.Equal(t, "3q0=", attrs["raw"])
	assert.Equal(t, map[string]any{"databricks.workspace.id": "1234567890123456", "cloud.provider": "azure"}, doc["resource"])
	assert.Equal(t, "2026-11-26T09:12:00Z", doc["timestamp"])
	assert.Equal(t, float64(17), doc["severity_number"])
}

func TestJSONValueNonFinite(t *testing.T) {
	v := pcommon.NewValueDouble(0)
	for _, d := range []float64{posInf(), negInf(), nan()} {
		v.SetDouble(d)
		out, err := json.Marshal(jsonValue(v))
		require.NoError(t, err)
		assert.NotEmpty(t, out)
	}
}

func posInf() float64 { z := 0.0; return 1 / z }
func negInf() float64 { z := 0.0; return -1 / z }
func nan() float64    { z := 0.0; return z / z }
