// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter/internal/metadatatest"
)

// webhookRules returns the rule ids the webhook received, in order.
func webhookRules(t *testing.T, ft *fakeTarget) []string {
	t.Helper()
	var out []string
	for _, r := range ft.received() {
		var doc struct {
			Attributes map[string]any `json:"attributes"`
			Alert      webhookAlert   `json:"alert"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &doc))
		out = append(out, doc.Attributes["security_rule.uuid"].(string))
	}
	return out
}

func TestSeverityFilter(t *testing.T) {
	all := []string{"info", "low", "medium", "high", "critical"}
	tests := []struct {
		min  Severity
		want []string
	}{
		{SeverityInfo, all},
		{SeverityLow, all[1:]},
		{SeverityMedium, all[2:]},
		{SeverityHigh, all[3:]},
		{SeverityCritical, all[4:]},
	}
	for _, tt := range tests {
		t.Run(string(tt.min), func(t *testing.T) {
			wh := newFakeTarget(t)
			cfg := testConfig(targetsConfig{webhook: wh})
			cfg.MinSeverity = tt.min
			e := startedExporter(t, cfg, newFakeClock(t0))
			var specs []findingSpec
			for _, sev := range all {
				// One rule per severity so grouping keeps them apart.
				specs = append(specs, findingSpec{rule: "R-" + sev, severity: sev})
			}
			require.NoError(t, e.pushLogs(context.Background(), findingsLogs(specs...)))
			var want []string
			for _, sev := range tt.want {
				want = append(want, "R-"+sev)
			}
			assert.Equal(t, want, webhookRules(t, wh))
		})
	}
}

func TestSeverityFallsBackToRecordSeverity(t *testing.T) {
	tests := []struct {
		number plog.SeverityNumber
		want   Severity
	}{
		{plog.SeverityNumberFatal, SeverityCritical},
		{plog.SeverityNumberError, SeverityHigh},
		{plog.SeverityNumberWarn, SeverityMedium},
		{plog.SeverityNumberInfo, SeverityInfo},
		{plog.SeverityNumberUnspecified, SeverityInfo},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, parseSeverity("", tt.number), tt.number.String())
		assert.Equal(t, tt.want, parseSeverity("bogus", tt.number), tt.number.String())
	}
	assert.Equal(t, SeverityHigh, parseSeverity(" HIGH ", plog.SeverityNumberInfo), "case and spaces are tolerated")
}

func TestRepeatIntervalGrouping(t *testing.T) {
	wh := newFakeTarget(t)
	cfg := testConfig(targetsConfig{webhook: wh})
	cfg.RepeatInterval = time.Hour
	clock := newFakeClock(t0)
	e := startedExporter(t, cfg, clock)
	ctx := context.Background()

	// Three findings of one group in one batch: one notification.
	require.NoError(t, e.pushLogs(ctx, findingsLogs(findingSpec{}, findingSpec{}, findingSpec{})))
	require.Equal(t, 1, wh.count())

	// Another group (other user) is independent.
	require.NoError(t, e.pushLogs(ctx, findingsLogs(findingSpec{user: "bob@corp.com"})))
	require.Equal(t, 2, wh.count())

	// Within the interval the first group stays quiet.
	clock.Advance(59 * time.Minute)
	require.NoError(t, e.pushLogs(ctx, findingsLogs(findingSpec{})))
	require.Equal(t, 2, wh.count())

	// After the interval the next finding is sent and reports the three
	// held back since the group's previous notification.
	clock.Advance(time.Minute)
	require.NoError(t, e.pushLogs(ctx, findingsLogs(findingSpec{})))
	reqs := wh.received()
	require.Len(t, reqs, 3)
	var doc webhookFinding
	require.NoError(t, json.Unmarshal(reqs[2].Body, &doc))
	assert.Equal(t, int64(3), doc.Alert.Suppressed)
	assert.Equal(t, "2026-11-26T15:00:00Z", doc.Alert.ReceivedAt)
	assert.Equal(t, map[string]string{"security_rule.uuid": "DBX-W01", "user.email": "alice@corp.com"}, doc.Alert.Group)
}

func TestRepeatIntervalRefreshesAlertmanagerEndsAt(t *testing.T) {
	am := newFakeTarget(t)
	cfg := testConfig(targetsConfig{alertmanager: am})
	clock := newFakeClock(t0)
	e := startedExporter(t, cfg, clock)
	ctx := context.Background()

	require.NoError(t, e.pushLogs(ctx, findingsLogs(findingSpec{})))
	clock.Advance(61 * time.Minute)
	require.NoError(t, e.pushLogs(ctx, findingsLogs(findingSpec{})))

	reqs := am.received()
	require.Len(t, reqs, 2)
	var first, second []postableAlert
	require.NoError(t, json.Unmarshal(reqs[0].Body, &first))
	require.NoError(t, json.Unmarshal(reqs[1].Body, &second))
	assert.Equal(t, first[0].Labels, second[0].Labels, "same labels: Alertmanager updates the same alert")
	assert.Equal(t, "2026-11-26T15:00:00Z", first[0].EndsAt)
	assert.Equal(t, "2026-11-26T16:01:00Z", second[0].EndsAt)
}

func TestRepeatIntervalZeroSendsEveryFinding(t *testing.T) {
	wh := newFakeTarget(t)
	cfg := testConfig(targetsConfig{webhook: wh})
	cfg.RepeatInterval = 0
	e := startedExporter(t, cfg, newFakeClock(t0))
	require.NoError(t, e.pushLogs(context.Background(), findingsLogs(findingSpec{}, findingSpec{}, findingSpec{})))
	assert.Equal(t, 3, wh.count())
	assert.Equal(t, 0, e.groups.size(), "nothing is tracked")
}

func TestGroupTableExpiresAndIsBounded(t *testing.T) {
	g := newGroupTracker(time.Hour, 3)
	for _, k := range []string{"a", "b", "c"} {
		assert.Equal(t, groupDecision{Notify: true}, g.offer(k, t0))
	}
	assert.Equal(t, groupDecision{Notify: true, Untracked: true}, g.offer("d", t0.Add(time.Minute)), "full: sent, not tracked")
	assert.Equal(t, groupDecision{Suppressed: 1}, g.offer("a", t0.Add(2*time.Minute)), "tracked groups keep suppressing")
	assert.Equal(t, 3, g.size())

	// After the interval every group expires on the next sweep.
	assert.Equal(t, groupDecision{Notify: true}, g.offer("e", t0.Add(time.Hour+time.Minute)))
	assert.Equal(t, 1, g.size())
}

func TestGroupByFallsBackToResourceAttributes(t *testing.T) {
	wh := newFakeTarget(t)
	cfg := testConfig(targetsConfig{webhook: wh})
	cfg.GroupBy = []string{"security_rule.uuid", "databricks.workspace.id"}
	e := startedExporter(t, cfg, newFakeClock(t0))

	ld := findingsLogs(findingSpec{user: "a@corp.com"}, findingSpec{user: "b@corp.com"})
	rl2 := ld.ResourceLogs().AppendEmpty()
	rl2.Resource().Attributes().PutStr("databricks.workspace.id", "999")
	appendFinding(rl2.ScopeLogs().AppendEmpty(), findingSpec{user: "c@corp.com"})

	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Equal(t, 2, wh.count(), "one alert per workspace, users do not split the group")
}

func TestNonFindingRecordsIgnored(t *testing.T) {
	wh := newFakeTarget(t)
	e := startedExporter(t, testConfig(targetsConfig{webhook: wh}), newFakeClock(t0))
	ld, sl := newScopeLogs()
	appendAuditRecord(sl)
	appendFinding(sl, findingSpec{})
	appendAuditRecord(sl)
	sl.LogRecords().AppendEmpty().Body().SetStr("no attributes at all")

	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Equal(t, []string{"DBX-W01"}, webhookRules(t, wh))
}

func TestDryRunFindingsNotSent(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	wh := newFakeTarget(t)
	e, err := newAlertExporter(testConfig(targetsConfig{webhook: wh}), metadatatest.NewSettings(tel))
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost(), componenttest.NewNopTelemetrySettings()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })

	ld, sl := newScopeLogs()
	appendFinding(sl, findingSpec{user: "live@corp.com"})
	appendFinding(sl, findingSpec{user: "trial@corp.com"}).Attributes().PutStr("anomaly.mode", "dry_run")
	require.NoError(t, e.pushLogs(context.Background(), ld))

	reqs := wh.received()
	require.Len(t, reqs, 1)
	assert.Contains(t, string(reqs[0].Body), "live@corp.com")
	metadatatest.AssertEqualExporterAlertFindingsDryRun(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatestIgnoreTimes()...)
}

func TestFindingRecognisedByEventNameField(t *testing.T) {
	lr := plog.NewLogRecord()
	assert.False(t, isFinding(lr))
	lr.SetEventName("databricks.access_anomaly")
	assert.True(t, isFinding(lr), "the LogRecord EventName field counts too")
	lr = plog.NewLogRecord()
	lr.Attributes().PutInt("event.name", 1)
	assert.False(t, isFinding(lr))
}

func TestIgnoredRecordsDoNotAllocate(t *testing.T) {
	e := startedExporter(t, testConfig(targetsConfig{webhook: newFakeTarget(t)}), newFakeClock(t0))
	batch := func(n int) plog.Logs {
		ld, sl := newScopeLogs()
		for range n {
			appendAuditRecord(sl)
		}
		return ld
	}
	small, large := batch(1), batch(1000)
	ctx := context.Background()
	allocsSmall := testing.AllocsPerRun(20, func() { _ = e.pushLogs(ctx, small) })
	allocsLarge := testing.AllocsPerRun(20, func() { _ = e.pushLogs(ctx, large) })
	assert.Zero(t, allocsSmall)
	assert.Equal(t, allocsSmall, allocsLarge, "cost per ignored record is allocation-free")
}

func TestFindingWithoutRuleIDCountedAndSkipped(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	wh := newFakeTarget(t)
	cfg := testConfig(targetsConfig{webhook: wh})
	e, err := newAlertExporter(cfg, metadatatest.NewSettings(tel))
	require.NoError(t, err)
	e.now = newFakeClock(t0).Now
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost(), componenttest.NewNopTelemetrySettings()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })

	ld, sl := newScopeLogs()
	appendFinding(sl, findingSpec{user: "a@corp.com"})
	bad := appendFinding(sl, findingSpec{user: "b@corp.com"})
	bad.Attributes().Remove("security_rule.uuid")
	appendFinding(sl, findingSpec{user: "c@corp.com"})
	appendFinding(sl, findingSpec{user: "d@corp.com", severity: "low"})

	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Equal(t, 2, wh.count(), "the good findings around the bad one still go out")
	metadatatest.AssertEqualExporterAlertFindingsInvalid(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatestIgnoreTimes()...)
	metadatatest.AssertEqualExporterAlertFindingsBelowSeverity(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatestIgnoreTimes()...)
	metadatatest.AssertEqualExporterAlertNotificationsSent(t, tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("target", "webhook"))},
	}, metricdatatestIgnoreTimes()...)
}

func TestPermanentVersusRetryableAnswers(t *testing.T) {
	tests := []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusUnauthorized, true},
		{http.StatusForbidden, true},
		{http.StatusNotFound, true},
		{http.StatusGone, true},
		{http.StatusRequestEntityTooLarge, true},
		{http.StatusUnprocessableEntity, true},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusGatewayTimeout, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			wh := newFakeTarget(t)
			wh.answerAlways(tt.status, `{"error":"`+http.StatusText(tt.status)+`"}`)
			e := startedExporter(t, testConfig(targetsConfig{webhook: wh}), newFakeClock(t0))
			err := e.pushLogs(context.Background(), findingsLogs(findingSpec{}))
			require.Error(t, err)
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err), err.Error())
			assert.Contains(t, err.Error(), http.StatusText(tt.status), "the target's answer is reported")
			var logsErr consumererror.Logs
			if tt.permanent {
				assert.False(t, errors.As(err, &logsErr))
				return
			}
			require.True(t, errors.As(err, &logsErr), "retry carries the undelivered alerts")
			assert.Equal(t, 1, logsErr.Data().LogRecordCount())
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	wh := newFakeTarget(t)
	wh.setResponder(func(int, *http.Request) (int, http.Header, string) {
		return http.StatusTooManyRequests, http.Header{"Retry-After": []string{"7"}}, "slow down"
	})
	e := startedExporter(t, testConfig(targetsConfig{webhook: wh}), newFakeClock(t0))
	err := e.pushLogs(context.Background(), findingsLogs(findingSpec{}))
	require.Error(t, err)
	// exporterhelper's throttle error is unexported; its message is the contract.
	assert.Contains(t, err.Error(), "Throttle (7s)")
	assert.False(t, consumererror.IsPermanent(err))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{" 3 ", 3 * time.Second},
		{"99999999999999999999", maxRetryAfter},
		{"86400", maxRetryAfter},
		{"Thu, 26 Nov 2026 14:00:30 GMT", 30 * time.Second},
		{"Thu, 26 Nov 2026 13:00:00 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, parseRetryAfter(tt.in, now), tt.in)
	}
}

func TestMultiTargetPartialFailure(t *testing.T) {
	wh, slack, pd, am := newFakeTarget(t), newFakeTarget(t), newFakeTarget(t), newFakeTarget(t)
	slack.answerAlways(http.StatusServiceUnavailable, "maintenance")
	pd.answerAlways(http.StatusBadRequest, `{"status":"invalid event","errors":["routing key invalid"]}`)
	cfg := testConfig(targetsConfig{webhook: wh, slack: slack, pagerduty: pd, alertmanager: am})
	clock := newFakeClock(t0)
	e := startedExporter(t, cfg, clock)
	ctx := context.Background()

	err := e.pushLogs(ctx, findingsLogs(findingSpec{}, findingSpec{user: "bob@corp.com"}))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "slack can still succeed")
	var logsErr consumererror.Logs
	require.True(t, errors.As(err, &logsErr))
	retry := logsErr.Data()
	require.Equal(t, 2, retry.LogRecordCount())
	pending, ok := retry.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(attrPendingTargets)
	require.True(t, ok)
	assert.Equal(t, []any{"slack"}, pending.Slice().AsRaw(), "only the target that can still succeed is pending")

	assert.Equal(t, 2, wh.count())
	assert.Equal(t, 1, am.count())
	assert.Equal(t, 2, pd.count())
	assert.Equal(t, 1, slack.count(), "slack stopped after the first 503 of the batch")

	// exporterhelper retries with the returned data, after the interval.
	slack.answerAlways(http.StatusOK, "ok")
	clock.Advance(2 * time.Hour)
	require.NoError(t, e.pushLogs(ctx, retry))
	assert.Equal(t, 2, wh.count(), "no re-send to targets that already have the alerts")
	assert.Equal(t, 1, am.count())
	assert.Equal(t, 2, pd.count(), "the permanently failed target is not retried")
	assert.Equal(t, 3, slack.count())

	// The retry keeps the first attempt's receive time.
	var msg slackMessage
	require.NoError(t, json.Unmarshal(slack.received()[2].Body, &msg))
	assert.Contains(t, msg.Text, "bob@corp.com")
}

func TestRetriedAlertKeepsItsBookkeeping(t *testing.T) {
	wh := newFakeTarget(t)
	wh.answerAlways(http.StatusBadGateway, "")
	clock := newFakeClock(t0)
	e := startedExporter(t, testConfig(targetsConfig{webhook: wh}), clock)
	err := e.pushLogs(context.Background(), findingsLogs(findingSpec{}))
	var logsErr consumererror.Logs
	require.True(t, errors.As(err, &logsErr))

	wh.answerAlways(http.StatusOK, "ok")
	clock.Advance(10 * time.Minute) // within repeat_interval: a fresh finding would be suppressed
	require.NoError(t, e.pushLogs(context.Background(), logsErr.Data()))
	reqs := wh.received()
	require.Len(t, reqs, 2)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(reqs[1].Body, &doc))
	assert.Equal(t, "2026-11-26T14:00:00Z", doc["alert"].(map[string]any)["received_time"])
	for k := range doc["attributes"].(map[string]any) {
		assert.False(t, strings.HasPrefix(k, internalAttrPrefix), "internal attribute %s leaked", k)
	}
}

func TestPermanentFailureOfAllTargets(t *testing.T) {
	wh := newFakeTarget(t)
	wh.answerAlways(http.StatusUnauthorized, "bad token")
	e := startedExporter(t, testConfig(targetsConfig{webhook: wh}), newFakeClock(t0))
	err := e.pushLogs(context.Background(), findingsLogs(findingSpec{}, findingSpec{user: "b@corp.com"}))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Equal(t, 2, wh.count(), "a permanent answer for one alert does not stop the others")
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	wh := newFakeTarget(t)
	cfg := testConfig(targetsConfig{webhook: wh})
	wh.Close()
	e := startedExporter(t, cfg, newFakeClock(t0))
	err := e.pushLogs(context.Background(), findingsLogs(findingSpec{}))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var logsErr consumererror.Logs
	assert.True(t, errors.As(err, &logsErr))
}

func TestParseFindingTimes(t *testing.T) {
	tests := []struct {
		name string
		set  func(pcommon.Map)
		want time.Time
	}{
		{"rfc3339", func(m pcommon.Map) { m.PutStr(attrFirstEventTime, "2026-11-26T08:00:00.5+01:00") }, time.Date(2026, 11, 26, 7, 0, 0, 5e8, time.UTC)},
		{"unix seconds", func(m pcommon.Map) { m.PutInt(attrFirstEventTime, 1795000000) }, time.Unix(1795000000, 0).UTC()},
		{"unix millis", func(m pcommon.Map) { m.PutInt(attrFirstEventTime, 1795000000123) }, time.UnixMilli(1795000000123).UTC()},
		{"unix nanos", func(m pcommon.Map) { m.PutInt(attrFirstEventTime, 1795000000123456789) }, time.Unix(0, 1795000000123456789).UTC()},
		{"numeric string", func(m pcommon.Map) { m.PutStr(attrFirstEventTime, "1795000000") }, time.Unix(1795000000, 0).UTC()},
		{"garbage falls back to the record time", func(m pcommon.Map) { m.PutStr(attrFirstEventTime, "yesterday") }, time.Date(2026, 11, 26, 9, 12, 0, 0, time.UTC)},
		{"absent falls back to the record time", func(m pcommon.Map) { m.Remove(attrFirstEventTime) }, time.Date(2026, 11, 26, 9, 12, 0, 0, time.UTC)},
		{"year 10000 falls back", func(m pcommon.Map) { m.PutStr(attrFirstEventTime, "10000-01-01T00:00:00Z") }, time.Date(2026, 11, 26, 9, 12, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld, sl := newScopeLogs()
			lr := appendFinding(sl, findingSpec{})
			tt.set(lr.Attributes())
			f := parseFinding(ld.ResourceLogs().At(0).Resource(), sl.Scope(), lr)
			assert.True(t, tt.want.Equal(f.FirstEvent), "got %s", f.FirstEvent)
		})
	}
}

func TestLifecycleThroughFactory(t *testing.T) {
	wh := newFakeTarget(t)
	factory := NewFactory()
	cfg := testConfig(targetsConfig{webhook: wh})
	for i := range 2 { // a fresh instance after shutdown works the same
		exp, err := factory.CreateLogs(context.Background(), settingsForTest(), cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		ld := findingsLogs(findingSpec{})
		ld.MarkReadOnly() // the exporter declares MutatesData false
		require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
		require.NoError(t, exp.Shutdown(context.Background()))
		assert.Equal(t, i+1, wh.count())
	}
}

func TestStartFailsOnBadClientConfig(t *testing.T) {
	cfg := testConfig(targetsConfig{webhook: newFakeTarget(t)})
	cfg.Webhook.Get().ClientConfig.TLS.CAFile = "/nonexistent/ca.pem"
	exp, err := NewFactory().CreateLogs(context.Background(), settingsForTest(), cfg)
	require.NoError(t, err)
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "webhook")
	require.NoError(t, exp.Shutdown(context.Background()))
}

func settingsForTest() exporter.Settings { return exportertest.NewNopSettings(metadata.Type) }

func metricdatatestIgnoreTimes() []metricdatatest.Option {
	return []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
}
