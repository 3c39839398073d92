// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadatatest"
)

func adminGrant(t time.Time) rec {
	return audit(t, a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin"})
}

// TestSuppressionRollup: a burst inside the suppression window gives one
// finding at once; when the window closes a roll-up carries alert.count.
func TestSuppressionRollup(t *testing.T) {
	h := newHarness(t, nil)
	burst := every(base, 5*time.Minute, 6, func(_ int, t time.Time) rec { return adminGrant(t) })
	got := withRule(h.feed(burst...), "DBX-S01")
	require.Len(t, got, 1)
	assert.Equal(t, "1", attrStr(got[0], "alert.count"))
	metadatatest.AssertEqualAccessAnomalyFindingsSuppressed(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 5, Attributes: attribute.NewSet(attribute.String("rule", "DBX-S01"))},
	}, metricdatatest.IgnoreTimestamp())
	openWindows := func(n int64) {
		t.Helper()
		metadatatest.AssertEqualAccessAnomalySuppressionWindows(t, h.tel, []metricdata.DataPoint[int64]{{Value: n}}, metricdatatest.IgnoreTimestamp())
	}
	openWindows(1)

	// Event time moves past the window (1h default): the roll-up appears.
	rolled := withRule(h.feed(audit(base.Add(2*time.Hour), a{})), "DBX-S01")
	require.Len(t, rolled, 1)
	openWindows(0)
	r := rolled[0]
	assert.Equal(t, "6", attrStr(r, "alert.count"))
	assert.Equal(t, "true", attrStr(r, "anomaly.rollup"))
	assert.Equal(t, attrStr(got[0], "alert.dedup_key"), attrStr(r, "alert.dedup_key"))
	assert.Equal(t, base.Format(time.RFC3339Nano), attrStr(r, "alert.first_event_time"))
	assert.Equal(t, base.Add(25*time.Minute).Format(time.RFC3339Nano), attrStr(r, "alert.last_event_time"))
	ids, _ := r.Attributes().Get("databricks.event_ids")
	assert.Equal(t, 6, ids.Slice().Len())
	assert.Contains(t, r.Body().Str(), "(6 occurrences in 25m)")

	// A new grant after the window is a new finding.
	again := withRule(h.feed(adminGrant(base.Add(3*time.Hour))), "DBX-S01")
	require.Len(t, again, 1)
	assert.Equal(t, "1", attrStr(again[0], "alert.count"))
	openWindows(1)
}

func TestSuppressionKeyAndWindowOverride(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Overrides = map[string]map[string]any{"DBX-S01": {"suppress": map[string]any{
			"key": []any{"rule", `log.attributes["databricks.request_params.targetUserName"]`}, "window": "10m"}}}
	})
	got := withRule(h.feed(
		audit(base, a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "databricks.request_params.targetUserName": "bob"}),
		audit(base.Add(time.Minute), a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "databricks.request_params.targetUserName": "carol"}),
		audit(base.Add(2*time.Minute), a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "databricks.request_params.targetUserName": "bob"}),
		audit(base.Add(15*time.Minute), a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "databricks.request_params.targetUserName": "bob"}),
	), "DBX-S01")
	// bob, carol, then at +15m bob's 10m window has expired: the roll-up of
	// the first window (2 grants) comes with the new finding.
	require.Len(t, got, 4)
	assert.Equal(t, "DBX-S01|bob", attrStr(got[0], "alert.dedup_key"))
	assert.Equal(t, "DBX-S01|carol", attrStr(got[1], "alert.dedup_key"))
	assert.Equal(t, "DBX-S01|bob", attrStr(got[2], "alert.dedup_key"))
	assert.Equal(t, "true", attrStr(got[2], "anomaly.rollup"))
	assert.Equal(t, "2", attrStr(got[2], "alert.count"))
	assert.Equal(t, "", attrStr(got[3], "anomaly.rollup"))
	assert.Equal(t, "1", attrStr(got[3], "alert.count"))

	// suppress.key [rule] alone: one window for the rule across identities.
	h2 := newHarness(t, func(c *Config) {
		c.Overrides = map[string]map[string]any{"DBX-S01": {"suppress": map[string]any{"key": []any{"rule"}}}}
	})
	got = withRule(h2.feed(
		audit(base, a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "user.email": "x@corp.com"}),
		audit(base.Add(time.Minute), a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "user.email": "y@corp.com"}),
	), "DBX-S01")
	require.Len(t, got, 1)
	assert.Equal(t, "DBX-S01", attrStr(got[0], "alert.dedup_key"))
}

// TestDryRun: dry_run findings are computed and counted, never emitted, and
// do not feed the risk rule.
func TestDryRun(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Overrides = map[string]map[string]any{"DBX-S03": {"mode": "dry_run"}}
	})
	got := h.feed(audit(base, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit",
		"databricks.request_params.workspaceConfKeys": "enableVerboseAuditLogs", "databricks.request_params.workspaceConfValues": "false"}))
	assert.Empty(t, got)
	metadatatest.AssertEqualAccessAnomalyFindings(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("rule", "DBX-S03"), attribute.String("severity", "critical"), attribute.String("mode", "dry_run"))},
	}, metricdatatest.IgnoreTimestamp())
	// A live high finding alone (50) stays below the risk threshold, proving
	// the dry-run critical (100) was not added.
	got = h.feed(adminGrant(base.Add(time.Minute)))
	assert.Len(t, withRule(got, "DBX-S01"), 1)
	assert.Empty(t, withRule(got, "DBX-B14"))
}

func TestEmitModes(t *testing.T) {
	trigger := func() []rec {
		return []rec{
			audit(base, a{"databricks.action_name": "getTable"}),
			audit(base.Add(time.Second), a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "user_agent.original": "trufflehog/3.1"}),
		}
	}
	t.Run("append", func(t *testing.T) {
		h := newHarness(t, nil)
		findings := h.feed(trigger()...)
		var ids []string
		for _, f := range findings {
			ids = append(ids, ruleOf(f))
		}
		// S01 and S17 span four ATT&CK tactics, which also trips the risk rule.
		assert.Equal(t, []string{"DBX-S01", "DBX-S17", "DBX-B14"}, ids)
		out := h.sink.AllLogs()[0]
		// Findings are added to the same ResourceLogs, in a scope of their own.
		require.Equal(t, 1, out.ResourceLogs().Len())
		rl := out.ResourceLogs().At(0)
		require.Equal(t, 2, rl.ScopeLogs().Len())
		assert.Equal(t, "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor", rl.ScopeLogs().At(1).Scope().Name())
		f := rl.ScopeLogs().At(1).LogRecords().At(0)
		assert.Equal(t, "databricks.access_anomaly", f.EventName())
		assert.Equal(t, "databricks.access_anomaly", attrStr(f, "event.name"))
		assert.Equal(t, plog.SeverityNumberError, f.SeverityNumber())
		assert.Equal(t, "ERROR", f.SeverityText())
		_, annotated := rl.ScopeLogs().At(0).LogRecords().At(1).Attributes().Get("anomaly.rule_ids")
		assert.False(t, annotated)
	})
	t.Run("annotate", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.Emit = EmitAnnotate })
		assert.Empty(t, h.feed(trigger()...))
		lrs := h.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		_, ok := lrs.At(0).Attributes().Get("anomaly.rule_ids")
		assert.False(t, ok, "records without findings are untouched")
		ids, ok := lrs.At(1).Attributes().Get("anomaly.rule_ids")
		require.True(t, ok)
		assert.Equal(t, []any{"DBX-S01", "DBX-S17", "DBX-B14"}, ids.Slice().AsRaw())
		assert.Equal(t, "high", attrStr(lrs.At(1), "anomaly.max_severity"))
		assert.Equal(t, 1, h.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().Len())
	})
	t.Run("both", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.Emit = EmitBoth })
		assert.Len(t, h.feed(trigger()...), 3)
		lrs := h.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		assert.Equal(t, "high", attrStr(lrs.At(1), "anomaly.max_severity"))
	})
}

// TestFindingSchema checks every field of the DESIGN §3.3 table on one finding.
func TestFindingSchema(t *testing.T) {
	h := newHarness(t, nil)
	got := withRule(h.feed(every(base, time.Minute, 5, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") })...), "DBX-W01")
	require.Len(t, got, 1)
	f := got[0]
	want := map[string]string{
		"event.name":                 "databricks.access_anomaly",
		"security_rule.uuid":         "DBX-W01",
		"security_rule.name":         "Failed-login burst",
		"security_rule.category":     "credential_access",
		"security_rule.ruleset.name": "databricks-access-anomaly",
		"anomaly.detector":           "threshold",
		"anomaly.severity":           "medium",
		"anomaly.mode":               "live",
		"anomaly.baseline.threshold": "5",
		"anomaly.baseline.window":    "1h",
		"anomaly.baseline.observed":  "5",
		"threat.technique.id":        `["T1110","T1078"]`,
		"threat.tactic.name":         `["credential-access"]`,
		"user.email":                 "alice@corp.com",
		"source.address":             "198.51.100.7",
		"user_agent.original":        "Mozilla/5.0 (Macintosh) Chrome/120.0 Safari/537.36",
		"databricks.action_name":     "login",
		"databricks.service_name":    "accounts",
		"alert.dedup_key":            "DBX-W01|alice@corp.com",
		"alert.count":                "1",
		"alert.first_event_time":     base.Format(time.RFC3339Nano),
		"alert.last_event_time":      base.Add(4 * time.Minute).Format(time.RFC3339Nano),
	}
	for k, v := range want {
		assert.Equal(t, v, attrStr(f, k), k)
	}
	assert.NotEmpty(t, attrStr(f, "security_rule.reference"))
	score, _ := f.Attributes().Get("anomaly.score")
	assert.Equal(t, pcommon.ValueTypeDouble, score.Type())
	assert.Equal(t, 50.0, score.Double())
	assert.Equal(t, "5 events matching the rule in 4m (threshold >= 5 in 1h) from 198.51.100.7", attrStr(f, "anomaly.reason"))
	assert.Equal(t, "alice@corp.com: Failed-login burst — 5 events matching the rule in 4m (threshold >= 5 in 1h) from 198.51.100.7", f.Body().Str())
	ids, _ := f.Attributes().Get("databricks.event_ids")
	assert.Equal(t, 5, ids.Slice().Len())
	assert.Equal(t, plog.SeverityNumberWarn, f.SeverityNumber())
	assert.Equal(t, pcommon.NewTimestampFromTime(base.Add(4*time.Minute)), f.Timestamp())
}

// TestTimeHandling: late records beyond allowed_lateness and records from
// the future are counted; the late ones open no windows.
func TestTimeHandling(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AllowedLateness = 10 * time.Minute })
	now := time.Now()
	h.feed(audit(now, a{}))
	late := every(now.Add(-3*time.Hour), time.Second, 6, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") })
	assert.Empty(t, withRule(h.feed(late...), "DBX-W01"), "late failures do not open a window")
	h.feed(audit(now.Add(48*time.Hour), a{"user.email": "future@corp.com"}))
	metadatatest.AssertEqualAccessAnomalyRecordsLate(t, h.tel, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAccessAnomalyRecordsFutureClamped(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestBadRecordsPassThrough: odd attribute types, missing fields and a rule
// whose expression fails at run time never stop the good records around
// them; the failures are counted.
func TestBadRecordsPassThrough(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Rules = append(c.Rules, mustRule(t, `{"id":"NUM","name":"Sum","type":"threshold","where":"log.attributes[\"databricks.action_name\"] == \"upload\"",
			"aggregate":"sum","value":"log.attributes[\"bytes\"]","window":"1h","gte":100,"severity":"low"}`))
	})
	recs := []rec{
		adminGrant(base),
		audit(base.Add(time.Second), a{"user.email": nil, "databricks.action_name": "setAdmin"}),
		audit(base.Add(2*time.Second), a{"http.response.status_code": "not-a-number", "source.address": "::::"}),
		audit(base.Add(3*time.Second), a{"databricks.action_name": "upload", "bytes": "lots"}),
		audit(base.Add(4*time.Second), a{"databricks.action_name": "upload", "bytes": int64(150)}),
		audit(base.Add(5*time.Second), a{"geo.location.lat": "north", "geo.location.lon": 500.0}),
		adminGrant(base.Add(6 * time.Second)),
	}
	ld := logsOf(recs...)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty() // an empty record
	require.NoError(t, h.proc.ConsumeLogs(context.Background(), ld))
	out := h.sink.AllLogs()[0]
	var audits, findings int
	var rules []string
	forEachRecord(out, func(lr plog.LogRecord) {
		if lr.EventName() == "databricks.access_anomaly" {
			findings++
			rules = append(rules, ruleOf(lr))
		} else {
			audits++
		}
	})
	assert.Equal(t, len(recs)+1, audits)
	assert.Contains(t, rules, "DBX-S01")
	assert.Contains(t, rules, "NUM")
	metadatatest.AssertEqualAccessAnomalyRecordsRejected(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}
