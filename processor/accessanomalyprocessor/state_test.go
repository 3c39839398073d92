// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadatatest"
)

type storageHost struct {
	exts map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var storageID = component.MustNewID("file_storage")

// fileStorage starts a real file_storage extension on dir.
func fileStorage(t *testing.T, dir string) (storageHost, func()) {
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Compaction.Directory = dir
	set := extension.Settings{ID: storageID, TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return storageHost{exts: map[component.ID]component.Component{storageID: ext}}, func() {
		require.NoError(t, ext.Shutdown(context.Background()))
	}
}

func storageConfig(mutate func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	id := storageID
	cfg.StorageID = &id
	cfg.State.FlushInterval = time.Hour // only the Shutdown flush, so the test controls it
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

// scenarioBeforeRestart leaves learned baselines, an open failed-login
// window and an open suppression window behind.
func scenarioBeforeRestart(h *harness) {
	at := base.Add(20 * day)
	h.feed(history(base, 20, 10, a{})...)
	first := h.feed(audit(at, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit",
		"databricks.request_params.workspaceConfKeys": "enableVerboseAuditLogs", "databricks.request_params.workspaceConfValues": "false"}))
	require.Len(h.t, withRule(first, "DBX-S03"), 1)
	h.feed(every(at.Add(time.Minute), time.Minute, 3, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") })...)
}

func scenarioAfterRestart(h *harness) (w01, s03, b01 int) {
	at := base.Add(20*day + 10*time.Minute)
	got := h.feed(append(
		every(at, time.Minute, 2, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") }),
		audit(at.Add(5*time.Minute), a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit",
			"databricks.request_params.workspaceConfKeys": "enableVerboseAuditLogs", "databricks.request_params.workspaceConfValues": "false"}),
		audit(at.Add(6*time.Minute), a{"source.address": "203.0.113.77"}),
	)...)
	return len(withRule(got, "DBX-W01")), len(withRule(got, "DBX-S03")), len(withRule(got, "DBX-B01"))
}

// TestRestartKeepsState: windows, suppression timers and learning survive a
// restart through a real file_storage extension; the same scenario with a
// fresh state shows what would otherwise be lost.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	host, stop := fileStorage(t, dir)
	h1 := startHarness(t, storageConfig(nil), host)
	scenarioBeforeRestart(h1)
	require.NoError(t, h1.proc.Shutdown(context.Background()))
	stop()

	host2, stop2 := fileStorage(t, dir)
	defer stop2()
	h2 := startHarness(t, storageConfig(nil), host2)
	w01, s03, b01 := scenarioAfterRestart(h2)
	assert.Equal(t, 1, w01, "3 failures before and 2 after the restart complete the burst")
	assert.Equal(t, 0, s03, "the open suppression window survives: no alert storm")
	assert.Equal(t, 1, b01, "the identity's learning survives")
	require.NoError(t, h2.proc.Shutdown(context.Background()))

	// Without storage the restart forgets everything.
	h3 := newHarness(t, nil)
	w01, s03, b01 = scenarioAfterRestart(h3)
	assert.Equal(t, [3]int{0, 1, 0}, [3]int{w01, s03, b01})
}

// TestRestartMidScenarioEquivalent: splitting a stream across a restart
// produces the same findings as processing it in one go.
func TestRestartMidScenarioEquivalent(t *testing.T) {
	stream := append(history(base, 20, 12, a{}), attackStream(base.Add(20*day))...)
	split := len(stream) - 25

	whole := newHarness(t, func(c *Config) { c.Lists = map[string][]string{"sensitive_tables": {"main.hr.*"}} })
	want := findingKeys(whole.feed(stream...))
	require.GreaterOrEqual(t, len(want), 5, "%v", want)
	t.Log(want)

	dir := t.TempDir()
	host, stop := fileStorage(t, dir)
	mut := func(c *Config) { c.Lists = map[string][]string{"sensitive_tables": {"main.hr.*"}} }
	h1 := startHarness(t, storageConfig(mut), host)
	got := findingKeys(h1.feed(stream[:split]...))
	require.NoError(t, h1.proc.Shutdown(context.Background()))
	stop()
	host2, stop2 := fileStorage(t, dir)
	defer stop2()
	h2 := startHarness(t, storageConfig(mut), host2)
	got = append(got, findingKeys(h2.feed(stream[split:]...))...)
	assert.Equal(t, want, got)
}

// attackStream mixes several attacks on alice after a quiet history.
func attackStream(at time.Time) []rec {
	var out []rec
	out = append(out, every(at, time.Minute, 6, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "203.0.113.66") })...)
	out = append(out, okLogin(at.Add(7*time.Minute), "alice@corp.com", "203.0.113.66"))
	out = append(out, every(at.Add(10*time.Minute), time.Minute, 12, func(i int, t time.Time) rec {
		return audit(t, a{"databricks.service_name": "secrets", "databricks.action_name": "getSecret", "databricks.request_params.scope": "prod", "databricks.request_params.key": fmt.Sprintf("k%d", i)})
	})...)
	out = append(out, audit(at.Add(25*time.Minute), a{"databricks.action_name": "getTable", "databricks.object.name": "main.hr.salaries"}))
	out = append(out, audit(at.Add(26*time.Minute), a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin"}))
	return out
}

func findingKeys(fs []plog.LogRecord) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%s", ruleOf(f), attrStr(f, "user.email"), attrStr(f, "anomaly.severity"),
			attrStr(f, "alert.first_event_time"), attrStr(f, "alert.count")))
	}
	return out
}

// TestEvictionCountedAndRestored: beyond max_entities the least recently
// used entity is evicted (counted); with storage its state comes back.
func TestEvictionCountedAndRestored(t *testing.T) {
	dir := t.TempDir()
	host, stop := fileStorage(t, dir)
	defer stop()
	h := startHarness(t, storageConfig(func(c *Config) { c.State.MaxEntities = 3 }), host)
	at := base.Add(20 * day)
	h.feed(history(base, 20, 10, a{})...) // alice learns 198.51.100.0/24
	h.feed(every(at, time.Minute, 4, func(i int, t time.Time) rec {
		return audit(t, a{"user.email": fmt.Sprintf("u%d@corp.com", i)})
	})...)
	metadatatest.AssertEqualAccessAnomalyEntitiesEvicted(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "max_entities"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAccessAnomalyEntitiesTracked(t, h.tel, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
	// alice was evicted; her learned network is restored, a new one still fires.
	got := h.feed(audit(at.Add(time.Hour), a{"source.address": "198.51.100.9"}), audit(at.Add(2*time.Hour), a{"source.address": "192.0.2.1"}))
	b01 := withRule(got, "DBX-B01")
	require.Len(t, b01, 1)
	assert.Equal(t, "192.0.2.0/24", attrStr(b01[0], "anomaly.baseline.value"))
}

// TestEvictionWithoutStorage: max_entities holds the count flat.
func TestEvictionWithoutStorage(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.State.MaxEntities = 10 })
	h.feed(every(base, time.Second, 100, func(i int, t time.Time) rec {
		return audit(t, a{"user.email": fmt.Sprintf("u%d@corp.com", i)})
	})...)
	metadatatest.AssertEqualAccessAnomalyEntitiesEvicted(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 90, Attributes: attribute.NewSet(attribute.String("reason", "max_entities"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAccessAnomalyEntitiesTracked(t, h.tel, []metricdata.DataPoint[int64]{{Value: 10}}, metricdatatest.IgnoreTimestamp())
}

// TestHundredThousandIdentitiesInAMinute: a flood of distinct identities (a
// scripted token spray, a misconfigured service) keeps the state at
// max_entities and counts every eviction (issue 11, hostile input).
func TestHundredThousandIdentitiesInAMinute(t *testing.T) {
	const identities, maxEntities = 100_000, 20_000
	h := newHarness(t, func(c *Config) { c.State.MaxEntities = maxEntities })
	for batch := 0; batch < 10; batch++ {
		h.feed(every(base.Add(time.Duration(batch)*6*time.Second), 60*time.Microsecond, identities/10, func(i int, t time.Time) rec {
			return audit(t, a{"user.email": fmt.Sprintf("flood-%d-%d@corp.com", batch, i)})
		})...)
	}
	metadatatest.AssertEqualAccessAnomalyEntitiesEvicted(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: identities - maxEntities, Attributes: attribute.NewSet(attribute.String("reason", "max_entities"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAccessAnomalyEntitiesTracked(t, h.tel, []metricdata.DataPoint[int64]{{Value: maxEntities}}, metricdatatest.IgnoreTimestamp())
}

// TestIdleExpiry: entities idle longer than entity_idle_ttl (event time) go.
func TestIdleExpiry(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.State.EntityIdleTTL = 48 * time.Hour })
	h.feed(audit(base, a{"user.email": "old@corp.com"}), audit(base.Add(time.Hour), a{"user.email": "other@corp.com"}))
	h.feed(audit(base.Add(72*time.Hour), a{"user.email": "new@corp.com"}))
	metadatatest.AssertEqualAccessAnomalyEntitiesEvicted(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "idle"))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestRestartSameInstance: Start after Shutdown on the same component works
// and sees the state written by the first run.
func TestRestartSameInstance(t *testing.T) {
	dir := t.TempDir()
	host, stop := fileStorage(t, dir)
	defer stop()
	h := startHarness(t, storageConfig(nil), host)
	h.feed(history(base, 20, 10, a{})...)
	require.NoError(t, h.proc.Shutdown(context.Background()))
	require.NoError(t, h.proc.Start(context.Background(), host))
	got := h.feed(audit(base.Add(21*day), a{"source.address": "192.0.2.44"}))
	assert.Len(t, withRule(got, "DBX-B01"), 1, "learning from the first run is kept")
	metadatatest.AssertEqualAccessAnomalyEntitiesTracked(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, h.proc.Shutdown(context.Background()))
}

// TestRollupAfterRestartKeepsAttributeTypes: the roll-up of a suppression window that outlived
// a restart is made from the stored finding; its attributes have the types of the live
// finding's (integers were read back as doubles before).
func TestRollupAfterRestartKeepsAttributeTypes(t *testing.T) {
	dir := t.TempDir()
	grant := func(at time.Time) rec {
		return audit(at, a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin",
			"http.response.status_code": int64(200), "databricks.request_params.targetUserName": "bob"})
	}
	host, stop := fileStorage(t, dir)
	h1 := startHarness(t, storageConfig(nil), host)
	live := withRule(h1.feed(every(base, 5*time.Minute, 3, func(_ int, at time.Time) rec { return grant(at) })...), "DBX-S01")
	require.Len(t, live, 1)
	require.NoError(t, h1.proc.Shutdown(context.Background()))
	stop()

	host2, stop2 := fileStorage(t, dir)
	defer stop2()
	h2 := startHarness(t, storageConfig(nil), host2)
	rolled := withRule(h2.feed(audit(base.Add(2*time.Hour), a{})), "DBX-S01")
	require.Len(t, rolled, 1)
	assert.Equal(t, "true", attrStr(rolled[0], "anomaly.rollup"))
	assert.Equal(t, "3", attrStr(rolled[0], "alert.count"))
	status, ok := rolled[0].Attributes().Get("http.response.status_code")
	require.True(t, ok)
	assert.Equal(t, pcommon.ValueTypeInt, status.Type())
	compared := 0
	live[0].Attributes().Range(func(k string, v pcommon.Value) bool {
		if r, ok := rolled[0].Attributes().Get(k); ok {
			assert.Equal(t, v.Type().String(), r.Type().String(), "attribute %s", k)
			compared++
		}
		return true
	})
	assert.Greater(t, compared, 15)
	require.NoError(t, h2.proc.Shutdown(context.Background()))
}
