// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

func testConfig() Config {
	return Config{
		Lists: map[string][]string{
			"sensitive_tables": {"main.hr.*", "*.pii_*"},
			"allowed_cidrs":    {"203.0.113.0/24", "2001:db8::/32"},
		},
		Location:              time.UTC,
		MaxEntities:           1000,
		EntityIdleTTL:         1000 * time.Hour,
		AllowedLateness:       15 * time.Minute,
		MaxFutureSkew:         5 * time.Minute,
		MaxEventIDs:           10,
		DefaultSuppressWindow: time.Hour,
	}
}

func builtinEngine(t testing.TB) *Engine {
	rs, err := rules.Builtin()
	require.NoError(t, err)
	c, err := Compile(testConfig(), rs, component.TelemetrySettings{Logger: zap.NewNop()})
	require.NoError(t, err)
	return New(c, nil, nil)
}

// record builds a one-record batch; attrs values may be string, int64,
// float64 or bool.
func record(attrs map[string]any) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)))
	_ = lr.Attributes().FromRaw(attrs)
	return ld
}

// compareConditions checks, for every built-in condition the native
// evaluator handles, that it agrees with OTTL on this record.
func compareConditions(t testing.TB, e *Engine, ld plog.Logs) int {
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	c := &e.c
	c.ctx = context.Background()
	c.ev.load(rl, sl, sl.LogRecords().At(0), RecordRef{})
	defer c.release()
	checked := 0
	for i, f := range e.fast {
		if f == nil {
			continue
		}
		fast, ok := f.eval(c)
		want, err := e.conds[i].Eval(context.Background(), c.transformContext())
		if !ok || err != nil {
			continue
		}
		checked++
		if fast != want {
			t.Errorf("condition %q: native %v, OTTL %v on %v", e.condText[i], fast, want, sl.LogRecords().At(0).Attributes().AsRaw())
		}
	}
	return checked
}

func TestFastConditionsCoverBuiltinPack(t *testing.T) {
	e := builtinEngine(t)
	native := 0
	for i, f := range e.fast {
		if f != nil {
			native++
		} else {
			t.Logf("OTTL only: %s", e.condText[i])
		}
	}
	// Everything in the pack but Concat/TokenLifetimeHours is native.
	assert.GreaterOrEqual(t, native, len(e.fast)-8)
}

func TestFastConditionsMatchOTTL(t *testing.T) {
	e := builtinEngine(t)
	statuses := []any{int64(200), int64(401), int64(403), int64(500), float64(399.5), "200", "abc", true, nil}
	actions := []string{"login", "samlLogin", "setAdmin", "addPrincipalToGroup", "getSecret", "deleteTable", "workspaceConfEdit", "deleteIpAccessList", "generateTemporaryTableCredential", ""}
	addrs := []string{"203.0.113.9", "198.51.100.7", "10.0.0.1", "::1", "2001:db8::5", "0.0.0.0", "garbage", ""}
	uas := []string{"Mozilla/5.0 Chrome/120", "TruffleHog/3", "Databricks-Runtime/15", ""}
	objects := []string{"main.hr.salaries", "dev.x.pii_y", "main.sales.orders", ""}
	total := 0
	for _, st := range statuses {
		for _, act := range actions {
			for i, addr := range addrs {
				attrs := map[string]any{
					"databricks.service_name":                       []string{"accounts", "unityCatalog", "workspace", "ssoConfigBackend"}[i%4],
					"databricks.action_name":                        act,
					"source.address":                                addr,
					"user_agent.original":                           uas[i%len(uas)],
					"databricks.object.name":                        objects[i%len(objects)],
					"user.email":                                    []string{"alice@corp.com", "System-User"}[i%2],
					"databricks.request_params.targetGroupName":     []string{"admins", "users"}[i%2],
					"databricks.request_params.workspaceConfKeys":   []string{"enableVerboseAuditLogs", "enableIpAccessLists"}[i%2],
					"databricks.request_params.workspaceConfValues": []string{"false", "true"}[i%2],
					"databricks.request_params.operation":           []string{"READ", "READ_WRITE", "WRITE"}[i%3],
					"databricks.request_params.changes":             []string{`[{"principal": "account users"}]`, `[{"principal":"team"}]`}[i%2],
				}
				if act == "" {
					delete(attrs, "databricks.action_name")
				}
				if st != nil {
					attrs["http.response.status_code"] = st
				}
				total += compareConditions(t, e, record(attrs))
			}
		}
	}
	assert.Greater(t, total, 1000)
}

func FuzzFastConditionsMatchOTTL(f *testing.F) {
	f.Add(int64(200), "", "login", "accounts", "203.0.113.9", "Mozilla/5.0", "main.hr.x", "admins", "READ")
	f.Add(int64(401), "401", "samlLogin", "accounts", "10.1.1.1", "trufflehog", "", "", "")
	f.Add(int64(0), "x", "deleteTable", "unityCatalog", "::ffff:203.0.113.1", "Databricks-Runtime", "a.pii_b", "users", "READ_WRITE")
	e := builtinEngine(f)
	f.Fuzz(func(t *testing.T, status int64, statusStr, action, service, addr, ua, object, group, op string) {
		attrs := map[string]any{
			"databricks.action_name":                    action,
			"databricks.service_name":                   service,
			"source.address":                            addr,
			"user_agent.original":                       ua,
			"databricks.object.name":                    object,
			"databricks.request_params.targetGroupName": group,
			"databricks.request_params.operation":       op,
		}
		if statusStr != "" {
			attrs["http.response.status_code"] = statusStr
		} else {
			attrs["http.response.status_code"] = status
		}
		compareConditions(t, e, record(attrs))
	})
}

// FuzzRestoreEntity: stored state is read back from disk; garbage must be
// rejected without a panic.
func FuzzRestoreEntity(f *testing.F) {
	e := builtinEngine(f)
	ld := record(map[string]any{"user.email": "alice@corp.com", "databricks.action_name": "getTable", "source.address": "198.51.100.7",
		"user_agent.original": "Mozilla/5.0 Chrome/1", "http.response.status_code": int64(200)})
	e.Process(context.Background(), ld, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ent := e.identity.entities["alice@corp.com"]
	good, err := e.snapshotEntity(ent)
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte(`{"f":1,"r":{"x":"y"}}`))
	f.Add([]byte(`{"h":[1,2,3]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		target := &entity{space: e.identity, key: "fuzz"}
		_ = e.restoreEntity(target, data)
	})
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	e := builtinEngine(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		ld := record(map[string]any{"user.email": "alice@corp.com", "databricks.service_name": "accounts", "databricks.action_name": "login",
			"source.address": "198.51.100.7", "http.response.status_code": int64(401)})
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(i) * time.Minute)))
		e.Process(context.Background(), ld, at.Add(time.Hour))
	}
	writes := e.Snapshot()
	stored := map[string][]byte{}
	for _, w := range writes {
		stored[w.Key] = w.Value
	}
	require.Contains(t, stored, KeyMeta)
	require.NotContains(t, stored, legacySuppressionKey, "suppression windows are stored one per key")
	windows := 0
	for k := range stored {
		if strings.HasPrefix(k, KeyPrefixSuppression) {
			windows++
		}
	}
	require.Positive(t, windows)
	assert.Equal(t, len(e.sup.m), windows)
	for _, w := range e.Snapshot() {
		assert.False(t, strings.HasPrefix(w.Key, KeyPrefixSuppression), "nothing changed, yet %s was written", w.Key)
	}

	e2 := builtinEngine(t)
	require.NoError(t, e2.Restore(getFrom(stored), walkOf(stored)))
	assert.Equal(t, e.EntityCount(), e2.EntityCount())
	a, b := e.identity.entities["alice@corp.com"], e2.identity.entities["alice@corp.com"]
	require.NotNil(t, b)
	assert.Equal(t, a.first, b.first)
	assert.Equal(t, a.events, b.events)
	assert.Equal(t, *a.how, *b.how)
	assert.Positive(t, countStates(a))
	assert.Equal(t, countStates(a), countStates(b))
	assert.Equal(t, e.watermark, e2.watermark)
	assert.Len(t, e2.sup.m, len(e.sup.m))
}

func TestHaversine(t *testing.T) {
	// Berlin - New York ≈ 6385 km; a point to itself is 0.
	assert.InDelta(t, 6385, haversineKm(52.52, 13.40, 40.71, -74.01), 5)
	assert.InDelta(t, 0, haversineKm(1, 2, 1, 2), 1e-9)
	assert.InDelta(t, 20015, haversineKm(0, 0, 0, 180), 1)
}

func TestValueSetForgetAndCap(t *testing.T) {
	var s valueSet
	sec := int64(time.Second)
	for i := 0; i < 10; i++ {
		s.upsert(uint64(i), int64(i)*100*sec, 5)
	}
	assert.Len(t, s.V, 5, "capped")
	_, ok := s.find(9)
	assert.True(t, ok)
	_, ok = s.find(0)
	assert.False(t, ok, "least recently seen dropped")
	s.forget(800 * sec)
	assert.Len(t, s.V, 2)
	b, err := s.MarshalJSON()
	require.NoError(t, err)
	var back valueSet
	require.NoError(t, back.UnmarshalJSON(b))
	assert.Equal(t, s.V, back.V)
	assert.Equal(t, s.Total, back.Total)
}

func TestValueSetGrowsOutOfInlineStorage(t *testing.T) {
	var s valueSet
	sec := int64(time.Second)
	for _, h := range []uint64{30, 10, 20, 5} {
		s.upsert(h, 100*sec, 64)
		s.upsert(h, 200*sec, 64)
	}
	assert.Equal(t, []valueEntry{{5, 200, 2}, {10, 200, 2}, {20, 200, 2}, {30, 200, 2}}, s.V)
	assert.Equal(t, uint32(8), s.Total)
	s.forget(150 * sec)
	assert.Len(t, s.V, 4, "all seen at 200s")
	s.upsert(10, 300*sec, 64)
	s.forget(250 * sec)
	assert.Equal(t, []valueEntry{{10, 300, 3}}, s.V)
	assert.Equal(t, uint32(3), s.Total)
}

func countStates(ent *entity) int {
	n := 0
	for _, st := range ent.states {
		if st != nil {
			n++
		}
	}
	return n
}

// State written by earlier versions under the single "sup" key is restored,
// then moved to the shards by the next snapshot, which deletes the old key.
// getFrom and walkOf serve a map as storage, walking keys in order as bbolt does.
func getFrom(stored map[string][]byte) func(string) ([]byte, error) {
	return func(k string) ([]byte, error) { return stored[k], nil }
}

func walkOf(stored map[string][]byte) func(func(string, []byte) error) error {
	return func(fn func(string, []byte) error) error {
		for _, k := range slices.Sorted(maps.Keys(stored)) {
			if err := fn(k, stored[k]); err != nil {
				return err
			}
		}
		return nil
	}
}

// apply writes a snapshot into stored.
func apply(stored map[string][]byte, writes []Write) {
	for _, w := range writes {
		if w.Value == nil {
			delete(stored, w.Key)
		} else {
			stored[w.Key] = w.Value
		}
	}
}

// State written by earlier versions (all windows under one key, then in 64
// shards) is read, rewritten one window per key and the old keys deleted.
func TestSuppressionLegacyLayoutsUpgrade(t *testing.T) {
	single := map[string]*supEntry{
		"DBX-W01|alice@corp.com": {Rule: "DBX-W01", Expires: 100, First: 1, Last: 2, Count: 3},
		"DBX-W04|bob@corp.com":   {Rule: "DBX-W04", Expires: 200, First: 5, Last: 6, Count: 1},
	}
	shard := map[string]*supEntry{
		"DBX-W04|carol@corp.com": {Rule: "DBX-W04", Expires: 300, First: 7, Last: 8, Count: 2},
	}
	stored := map[string][]byte{}
	for key, windows := range map[string]map[string]*supEntry{legacySuppressionKey: single, legacySuppressionShardKey(0x2a): shard} {
		b, err := json.Marshal(windows)
		require.NoError(t, err)
		stored[key] = b
	}
	e := builtinEngine(t)
	require.NoError(t, e.Restore(getFrom(stored), walkOf(stored)))
	require.Len(t, e.sup.m, 3)
	assert.Equal(t, 3, e.sup.m["DBX-W01|alice@corp.com"].Count)
	assert.Equal(t, 2, e.sup.m["DBX-W04|carol@corp.com"].Count)

	apply(stored, e.Snapshot())
	assert.Equal(t, []string{
		KeyPrefixSuppression + "DBX-W01|alice@corp.com",
		KeyPrefixSuppression + "DBX-W04|bob@corp.com",
		KeyPrefixSuppression + "DBX-W04|carol@corp.com",
	}, slices.Sorted(maps.Keys(stored)), "old keys deleted, one key per window")

	e2 := builtinEngine(t)
	require.NoError(t, e2.Restore(getFrom(stored), walkOf(stored)))
	require.Len(t, e2.sup.m, 3)
	for k, en := range single {
		require.Contains(t, e2.sup.m, k)
		assert.Equal(t, *en, *e2.sup.m[k])
	}
	assert.Equal(t, *shard["DBX-W04|carol@corp.com"], *e2.sup.m["DBX-W04|carol@corp.com"])
}

// A changed suppression window rewrites that window only, a closed one is
// deleted: stored values stay small however many windows are open (a value
// holding many windows made file_storage's bbolt file grow without bound in
// the reliability soak).
func TestSuppressionChangeWritesOneWindow(t *testing.T) {
	e := builtinEngine(t)
	const windows = 5000
	for i := 0; i < windows; i++ {
		k := fmt.Sprintf("DBX-W04|user-%d@corp.com", i)
		e.sup.m[k] = &supEntry{Rule: "DBX-W04", Expires: int64(i), Count: 1}
	}
	e.sup.markAll()
	first := 0
	for _, w := range e.Snapshot() {
		if strings.HasPrefix(w.Key, KeyPrefixSuppression) {
			first++
			assert.Less(t, len(w.Value), 200)
		}
	}
	require.Equal(t, windows, first)

	changed, closed := "DBX-W04|user-42@corp.com", "DBX-W04|user-7@corp.com"
	e.sup.m[changed].Count++
	e.sup.touch(changed)
	delete(e.sup.m, closed)
	e.sup.touch(closed)
	got := map[string][]byte{}
	for _, w := range e.Snapshot() {
		if strings.HasPrefix(w.Key, KeyPrefixSuppression) {
			got[strings.TrimPrefix(w.Key, KeyPrefixSuppression)] = w.Value
		}
	}
	require.Len(t, got, 2)
	require.Contains(t, got, closed)
	assert.Nil(t, got[closed], "a closed window is deleted")
	var en supEntry
	require.NoError(t, json.Unmarshal(got[changed], &en))
	assert.Equal(t, 2, en.Count)
}

// After a failed storage batch the next snapshot repeats the deletes (closed
// windows, idle entities, legacy keys) as well as the writes.
func TestMarkAllDirtyRepeatsFailedDeletes(t *testing.T) {
	e := builtinEngine(t)
	e.sup.m["DBX-W04|open@corp.com"] = &supEntry{Rule: "DBX-W04", Count: 1}
	failed := []Write{
		{Key: KeyPrefixSuppression + "DBX-W04|closed@corp.com"},
		{Key: KeyPrefixEntity + "abc/gone@corp.com"},
		{Key: legacySuppressionShardKey(3)},
		{Key: KeyMeta, Value: []byte("{}")},
	}
	e.MarkAllDirty(failed)
	got := map[string][]byte{}
	for _, w := range e.Snapshot() {
		got[w.Key] = w.Value
	}
	for _, w := range failed[:3] {
		require.Contains(t, got, w.Key)
		assert.Nil(t, got[w.Key])
	}
	assert.NotNil(t, got[KeyPrefixSuppression+"DBX-W04|open@corp.com"])
	assert.Contains(t, got, KeyMeta)
}

func TestIsLegacySuppressionKey(t *testing.T) {
	for key, want := range map[string]bool{
		"sup": true, "sup/00": true, "sup/3f": true,
		"sup/40": false, "sup/w/DBX-S01|alice@corp.com": false, "sup/w/": false, "sup/0": false,
		"sup/zz": false, "suppression": false, "e/abc/alice": false, "meta": false,
	} {
		assert.Equal(t, want, isLegacySuppressionKey(key), key)
	}
}

// TestThresholdKeepsEventIDsOnlyNearTheThreshold: a threshold window far below its
// threshold holds no event ids (under steady load the rings were most of the processor's
// memory); the finding still carries the last max_event_ids events that crossed it.
func TestThresholdKeepsEventIDsOnlyNearTheThreshold(t *testing.T) {
	e := builtinEngine(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	w07 := -1
	for i, r := range e.rules {
		if r.rule.ID == "DBX-W07" {
			w07 = i
		}
	}
	require.GreaterOrEqual(t, w07, 0)
	idsHeld := func() int {
		ent := e.identity.entities["alice@corp.com"]
		require.NotNil(t, ent)
		st, _ := ent.states[e.rules[w07].slot].(*thresholdState)
		require.NotNil(t, st)
		return st.IDs.count()
	}
	var findings []*Finding
	for i := 1; i <= 26; i++ { // DBX-W07: more than 25 denied Unity Catalog requests in 60m
		ld := record(map[string]any{"user.email": "alice@corp.com", "databricks.service_name": "unityCatalog",
			"databricks.action_name": "getTable", "databricks.event_id": fmt.Sprintf("ev-%02d", i),
			"source.address": "198.51.100.7", "http.response.status_code": int64(403)})
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(i) * time.Minute)))
		for _, f := range e.Process(context.Background(), ld, at.Add(time.Hour)) {
			if f.RuleID == "DBX-W07" {
				findings = append(findings, f)
			}
		}
		switch i {
		case 15:
			assert.Zero(t, idsHeld(), "15 of 26: far below the threshold, no ids held")
		case 20:
			assert.Equal(t, 5, idsHeld(), "from 16 on (within max_event_ids of the threshold) ids are kept")
		}
	}
	require.Len(t, findings, 1)
	var want []string
	for i := 17; i <= 26; i++ {
		want = append(want, fmt.Sprintf("ev-%02d", i))
	}
	assert.Equal(t, want, findings[0].EventIDs, "the last max_event_ids events up to the crossing")
}

// A batch emitted again after a crash (processed, its checkpoint not yet written) or a
// duplicated delivery line carries event ids the threshold's ring already holds: near the
// threshold they are not counted twice.
func TestThresholdDoesNotCountTheSameEventTwiceNearTheThreshold(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	failedLogin := func(id string, minute int) plog.Logs {
		ld := record(map[string]any{"user.email": "mallory@corp.com", "databricks.service_name": "accounts",
			"databricks.action_name": "login", "databricks.event_id": id,
			"source.address": "198.51.100.7", "user_agent.original": "Mozilla/5.0", "http.response.status_code": int64(401)})
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(minute) * time.Minute)))
		return ld
	}
	w01 := func(e *Engine, ld plog.Logs) []*Finding {
		var out []*Finding
		for _, f := range e.Process(context.Background(), ld, at.Add(time.Hour)) {
			if f.RuleID == "DBX-W01" {
				out = append(out, f)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		ids          []string // DBX-W01: 5 failed logins in 60m
		wantFindings int
	}{
		{"four logins, the last two again", []string{"ev-1", "ev-2", "ev-3", "ev-4", "ev-3", "ev-4"}, 0},
		{"four logins, one again, then the fifth", []string{"ev-1", "ev-2", "ev-3", "ev-4", "ev-4", "ev-5"}, 1},
		{"five distinct logins", []string{"ev-1", "ev-2", "ev-3", "ev-4", "ev-5"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := builtinEngine(t)
			var findings []*Finding
			for i, id := range tc.ids {
				findings = append(findings, w01(e, failedLogin(id, i))...)
			}
			require.Len(t, findings, tc.wantFindings)
			if tc.wantFindings == 1 {
				assert.Equal(t, []string{"ev-1", "ev-2", "ev-3", "ev-4", "ev-5"}, findings[0].EventIDs, "each event once")
			}
		})
	}
}
