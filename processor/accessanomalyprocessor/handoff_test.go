// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/engine"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadatatest"
)

// handoffConfig enables handoff on dir; the interval is long so that only
// Shutdown writes unless a test asks otherwise.
func handoffConfig(dir string, mutate func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Handoff.Directory = dir
	cfg.Handoff.Interval = time.Hour
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

func testHandoffStore(t testing.TB, dir string, ttl time.Duration) *handoffStore {
	cfg := handoffConfig(dir, func(c *Config) { c.State.EntityIdleTTL = ttl })
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	return newHandoffStore(cfg, zap.NewNop(), tb)
}

func writesPoint(result string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(attribute.String("result", result))}
}

func failuresPoint(op string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(attribute.String("operation", op))}
}

// TestHandoffLeaveCarriesState: an instance leaves (Shutdown writes its
// identities), the next owner of alice continues her failed-login window
// and her learning, although it started long after the leaving instance
// (its own learning clock would say "learning" for a week).
func TestHandoffLeaveCarriesState(t *testing.T) {
	dir := t.TempDir()
	leaving := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	scenarioBeforeRestart(leaving)
	require.NoError(t, leaving.proc.Shutdown(context.Background()))
	metadatatest.AssertEqualAccessAnomalyHandoffWrites(t, leaving.tel, []metricdata.DataPoint[int64]{writesPoint("written", 1)}, metricdatatest.IgnoreTimestamp())

	snap, err := testHandoffStore(t, dir, 0).load(context.Background(), "alice@corp.com", 0)
	require.NoError(t, err)
	require.NotNil(t, snap)
	assert.Equal(t, "alice@corp.com", snap.Identity)
	assert.Equal(t, base.Add(20*day+3*time.Minute).UnixNano(), snap.Version, "version = alice's last event time")

	next := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	w01, s03, b01 := scenarioAfterRestart(next)
	assert.Equal(t, 1, w01, "3 failures before and 2 after the move complete the burst")
	assert.Equal(t, 1, b01, "alice's learned networks and learning clock moved with her")
	assert.Equal(t, 1, s03, "suppression windows stay with the instance that opened them")
	metadatatest.AssertEqualAccessAnomalyHandoffLoads(t, next.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())

	// The same move without handoff: window and learning are lost.
	without := newHarness(t, nil)
	w01, s03, b01 = scenarioAfterRestart(without)
	assert.Equal(t, [3]int{0, 1, 0}, [3]int{w01, s03, b01})
}

// TestHandoffJoinPeriodicWrite: the owner keeps running (an instance
// joined and took alice over); its periodic write is what the joiner finds.
func TestHandoffJoinPeriodicWrite(t *testing.T) {
	dir := t.TempDir()
	owner := startHarness(t, handoffConfig(dir, func(c *Config) { c.Handoff.Interval = 20 * time.Millisecond }), componenttest.NewNopHost())
	hist := history(base, 20, 10, a{})
	owner.feed(hist...)
	last := hist[len(hist)-1].t.UnixNano()
	store := testHandoffStore(t, dir, 0)
	require.Eventually(t, func() bool {
		snap, err := store.load(context.Background(), "alice@corp.com", 0)
		return err == nil && snap != nil && snap.Version == last
	}, 30*time.Second, 10*time.Millisecond, "the periodic write must hand off alice's state")

	joiner := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	got := joiner.feed(audit(base.Add(21*day), a{"source.address": "198.51.100.9"}), audit(base.Add(21*day+time.Hour), a{"source.address": "192.0.2.1"}))
	b01 := withRule(got, "DBX-B01")
	require.Len(t, b01, 1, "known network stays quiet, the new one fires: learning moved")
	assert.Equal(t, "192.0.2.0/24", attrStr(b01[0], "anomaly.baseline.value"))
	metadatatest.AssertEqualAccessAnomalyHandoffLoads(t, joiner.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestHandoffNewestWins: a stale owner cannot overwrite a newer snapshot,
// and an instance restarting on older local state (file_storage) adopts
// the newer snapshot instead of it.
func TestHandoffNewestWins(t *testing.T) {
	dir := t.TempDir()
	// The stale owner saw alice for 10 days, from 203.0.113.0/24, and is
	// still running when ...
	stateDir := t.TempDir()
	host, stop := fileStorage(t, stateDir)
	stale := startHarness(t, handoffConfig(dir, func(c *Config) { c.StorageID = &storageID }), host)
	stale.feed(history(base, 10, 10, a{"source.address": "203.0.113.9"})...)

	// ... the newer owner, which saw her for 20 days from 198.51.100.0/24,
	// hands her off.
	newer := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	newer.feed(history(base, 20, 10, a{})...)
	require.NoError(t, newer.proc.Shutdown(context.Background()))

	require.NoError(t, stale.proc.Shutdown(context.Background()))
	stop()
	metadatatest.AssertEqualAccessAnomalyHandoffWrites(t, stale.tel, []metricdata.DataPoint[int64]{writesPoint("superseded", 1)}, metricdatatest.IgnoreTimestamp())
	snap, err := testHandoffStore(t, dir, 0).load(context.Background(), "alice@corp.com", 0)
	require.NoError(t, err)
	assert.Equal(t, base.Add(19*day+8*time.Hour-48*time.Minute).UnixNano(), snap.Version, "the newer snapshot is kept")

	// The stale instance restarts with its file_storage (alice preloaded)
	// and adopts the newer snapshot on her first record.
	host2, stop2 := fileStorage(t, stateDir)
	defer stop2()
	restarted := startHarness(t, handoffConfig(dir, func(c *Config) { c.StorageID = &storageID }), host2)
	got := restarted.feed(audit(base.Add(21*day), a{"source.address": "203.0.113.10"}))
	b01 := withRule(got, "DBX-B01")
	require.Len(t, b01, 1, "203.0.113.0/24 is unknown to the adopted (newer) state")
	assert.Equal(t, "203.0.113.0/24", attrStr(b01[0], "anomaly.baseline.value"))
	metadatatest.AssertEqualAccessAnomalyHandoffLoads(t, restarted.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestHandoffRecheckAfterSilence: an instance still holding alice in memory
// (she moved away to a joiner, which has left again) adopts the newer
// snapshot when she comes back after a silence, and does not look again
// for every record.
func TestHandoffRecheckAfterSilence(t *testing.T) {
	dir := t.TempDir()
	original := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	original.feed(history(base, 10, 10, a{"source.address": "203.0.113.9"})...)

	// Meanwhile another instance owned alice from day 10 to 20.
	other := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	other.feed(history(base.Add(10*day), 10, 10, a{})...)
	require.NoError(t, other.proc.Shutdown(context.Background()))

	got := original.feed(
		audit(base.Add(21*day), a{"source.address": "198.51.100.20"}),
		audit(base.Add(21*day+time.Minute), a{"source.address": "203.0.113.10"}),
	)
	b01 := withRule(got, "DBX-B01")
	require.Len(t, b01, 1, "the adopted state replaces the stale one: the other owner's network is known, the old one is not")
	assert.Equal(t, "203.0.113.0/24", attrStr(b01[0], "anomaly.baseline.value"))
	metadatatest.AssertEqualAccessAnomalyHandoffLoads(t, original.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestHandoffFailuresDoNotBlock: an unreadable snapshot, a snapshot of
// another identity and an unusable directory are counted; every record
// passes and detection continues on local state.
func TestHandoffFailuresDoNotBlock(t *testing.T) {
	dir := t.TempDir()
	store := testHandoffStore(t, dir, 0)
	alice := store.path("alice@corp.com")
	require.NoError(t, os.MkdirAll(filepath.Dir(alice), 0o700))
	require.NoError(t, os.WriteFile(alice, []byte("{not json"), 0o600))
	ok, err := store.write(&engine.HandoffSnapshot{Identity: "mallory@corp.com", Version: base.UnixNano(), State: []byte(`{"f":1,"l":2}`)})
	require.NoError(t, err)
	require.True(t, ok)
	bob := store.path("bob@corp.com")
	require.NoError(t, os.MkdirAll(filepath.Dir(bob), 0o700))
	require.NoError(t, os.Rename(store.path("mallory@corp.com"), bob))

	h := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	got := h.feed(failedLoginBurst(base, "alice@corp.com")...)
	assert.Len(t, withRule(got, "DBX-W01"), 1, "detection continues on local state")
	h.feed(audit(base.Add(time.Hour), a{"user.email": "bob@corp.com"}))
	metadatatest.AssertEqualAccessAnomalyHandoffFailures(t, h.tel, []metricdata.DataPoint[int64]{failuresPoint(handoffOpLoad, 2)}, metricdatatest.IgnoreTimestamp())
	_, err = h.tel.GetMetric("otelcol_access_anomaly_handoff_loads")
	assert.Error(t, err, "nothing adopted")

	// A directory that cannot be created: start and the shutdown write fail,
	// processing does not.
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	broken := startHarness(t, handoffConfig(filepath.Join(blocker, "handoff"), nil), componenttest.NewNopHost())
	got = broken.feed(failedLoginBurst(base, "carol@corp.com")...)
	assert.Len(t, withRule(got, "DBX-W01"), 1)
	require.NoError(t, broken.proc.Shutdown(context.Background()))
	metadatatest.AssertEqualAccessAnomalyHandoffFailures(t, broken.tel, []metricdata.DataPoint[int64]{
		failuresPoint(handoffOpLoad, 1),  // carol's first sight
		failuresPoint(handoffOpWrite, 2), // creating the directory at start, carol's snapshot at shutdown
	}, metricdatatest.IgnoreTimestamp())
}

func failedLoginBurst(at time.Time, user string) []rec {
	return every(at, time.Minute, 5, func(_ int, t time.Time) rec { return failedLogin(t, user, "203.0.113.66") })
}

// TestHandoffStoreVersions: the newest version wins whatever the order of
// the writes, and loads skip snapshots not newer than the local state.
func TestHandoffStoreVersions(t *testing.T) {
	store := testHandoffStore(t, t.TempDir(), 0)
	snap := func(v time.Time) *engine.HandoffSnapshot {
		return &engine.HandoffSnapshot{Identity: "alice@corp.com", Version: v.UnixNano(), State: []byte(`{}`)}
	}
	for _, tc := range []struct {
		version time.Time
		written bool
	}{
		{base.Add(2 * time.Hour), true},
		{base.Add(time.Hour), false},       // a stale owner's write
		{base.Add(2 * time.Hour), true},    // the same version again (the owner itself)
		{base.Add(3 * time.Hour), true},    // newer
		{base.Add(-time.Hour), false},      // much older
		{base.Add(3*time.Hour - 1), false}, // older by 1 ns
	} {
		ok, err := store.write(snap(tc.version))
		require.NoError(t, err)
		assert.Equal(t, tc.written, ok, tc.version)
	}
	got, err := store.load(context.Background(), "alice@corp.com", 0)
	require.NoError(t, err)
	assert.Equal(t, base.Add(3*time.Hour).UnixNano(), got.Version)
	got, err = store.load(context.Background(), "alice@corp.com", base.Add(3*time.Hour).UnixNano())
	require.NoError(t, err)
	assert.Nil(t, got, "not newer than the local state")
	got, err = store.load(context.Background(), "nobody@corp.com", 0)
	require.NoError(t, err)
	assert.Nil(t, got)
}

// TestHandoffCleanup: snapshots idle longer than entity_idle_ttl and
// abandoned temporary files are removed, the rest stays.
func TestHandoffCleanup(t *testing.T) {
	dir := t.TempDir()
	store := testHandoffStore(t, dir, 48*time.Hour)
	watermark := base.Add(10 * day)
	for id, v := range map[string]time.Time{"old@corp.com": watermark.Add(-49 * time.Hour), "recent@corp.com": watermark.Add(-47 * time.Hour)} {
		ok, err := store.write(&engine.HandoffSnapshot{Identity: id, Version: v.UnixNano(), State: []byte(`{}`)})
		require.NoError(t, err)
		require.True(t, ok)
	}
	shard := filepath.Dir(store.path("recent@corp.com"))
	now := time.Now()
	abandoned := filepath.Join(shard, handoffTempPrefix+"1")
	inFlight := filepath.Join(shard, handoffTempPrefix+"2")
	for _, f := range []string{abandoned, inFlight} {
		require.NoError(t, os.WriteFile(f, []byte("{"), 0o600))
	}
	require.NoError(t, os.Chtimes(abandoned, now.Add(-2*time.Hour), now.Add(-2*time.Hour)))

	removed, err := store.cleanup(watermark.UnixNano(), now)
	require.NoError(t, err)
	assert.Equal(t, 2, removed)
	assert.NoFileExists(t, store.path("old@corp.com"))
	assert.NoFileExists(t, abandoned)
	assert.FileExists(t, store.path("recent@corp.com"))
	assert.FileExists(t, inFlight, "a writer may still be renaming it")

	assert.True(t, store.cleanupDue(now))
	assert.False(t, store.cleanupDue(now.Add(time.Minute)), "at most hourly")
	assert.True(t, store.cleanupDue(now.Add(handoffCleanupEvery)))
}

// TestHandoffProcessorLifecycle: restart of the same component with
// handoff, and Shutdown without Start.
func TestHandoffProcessorLifecycle(t *testing.T) {
	dir := t.TempDir()
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), handoffConfig(dir, nil), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(context.Background()))
	h := startHarness(t, handoffConfig(dir, nil), componenttest.NewNopHost())
	h.feed(history(base, 2, 3, a{})...)
	require.NoError(t, h.proc.Shutdown(context.Background()))
	require.NoError(t, h.proc.Start(context.Background(), componenttest.NewNopHost()))
	h.feed(audit(base.Add(3*day), a{}))
	require.NoError(t, h.proc.Shutdown(context.Background()))
	metadatatest.AssertEqualAccessAnomalyHandoffWrites(t, h.tel, []metricdata.DataPoint[int64]{writesPoint("written", 2)}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAccessAnomalyHandoffLoads(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// BenchmarkHandoffWrite: the cost of one snapshot write (a 5.5 KB identity,
// the attacks scenario's mean) on the test's file system.
func BenchmarkHandoffWrite(b *testing.B) {
	store := testHandoffStore(b, b.TempDir(), 0)
	state := []byte(`{"f":1,"l":2,"r":{"x":"` + strings.Repeat("a", 5400) + `"}}`)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("user%d@corp.com", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := store.write(&engine.HandoffSnapshot{Identity: ids[i%len(ids)], Version: int64(i + 1), State: state}); err != nil {
			b.Fatal(err)
		}
	}
}
