// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// deniedRequest is one Unity Catalog request denied to user: DBX-W07 fires from the 26th
// within an hour, and its findings are suppressed for an hour (testConfig).
func deniedRequest(user string, i int, at time.Time) plog.Logs {
	ld := record(map[string]any{
		"user.email": user, "databricks.service_name": "unityCatalog", "databricks.action_name": "getTable",
		"databricks.event_id": deniedEventID(user, i), "databricks.workspace_id": "1234567890123456",
		"databricks.request_params.full_name_arg": "main.hr.salaries", "source.address": "198.51.100.7",
		"user_agent.original":       "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		"http.response.status_code": int64(403),
	})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(i) * time.Second)))
	return ld
}

// deniedEventID is the event id of user's request i, in the form of the audit receiver's
// derived ids (32 lowercase hex digits).
func deniedEventID(user string, i int) string {
	return fmt.Sprintf("%016x%016x", hashOf(user), i)
}

// denyRequests feeds user's requests 1 to n and returns the DBX-W07 findings emitted.
func denyRequests(e *Engine, user string, n int, at time.Time) []*Finding {
	var w07 []*Finding
	for i := 1; i <= n; i++ {
		for _, f := range e.Process(context.Background(), deniedRequest(user, i, at), at.Add(time.Minute)) {
			if f.RuleID == "DBX-W07" {
				w07 = append(w07, f)
			}
		}
	}
	return w07
}

func TestRollupIsTheFirstFindingWithTheWindowsCounts(t *testing.T) {
	e := builtinEngine(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	w07 := denyRequests(e, "alice@corp.com", 30, at)
	require.Len(t, w07, 1, "the 26th request fires; the 27th to 30th are folded into its window")
	first := w07[0]
	var closed []*Finding
	e.sup.sweep(e, math.MaxInt64, &closed)
	var rollups []*Finding
	for _, f := range closed {
		if f.RuleID == "DBX-W07" {
			rollups = append(rollups, f)
		}
	}
	require.Len(t, rollups, 1)
	r := rollups[0]

	assert.True(t, r.Rollup)
	assert.False(t, r.HasRef, "a roll-up has no triggering record")
	assert.Equal(t, 5, r.Count)
	assert.Equal(t, first.FirstEventTime, r.FirstEventTime)
	assert.Equal(t, at.Add(30*time.Second).UnixNano(), r.LastEventTime)
	assert.Equal(t, r.LastEventTime, r.EventTime)
	assert.Equal(t, first.Body+" (5 occurrences in 0s)", r.Body)
	assert.Equal(t, append(append([]string(nil), first.EventIDs...), deniedEventID("alice@corp.com", 27), deniedEventID("alice@corp.com", 28),
		deniedEventID("alice@corp.com", 29), deniedEventID("alice@corp.com", 30))[:10], r.EventIDs, "max_event_ids of the first finding's and the repeats' ids")
	// Everything else is the first finding's, with the same Go types (an int64 status code
	// stays an int64, not the float64 a plain JSON round trip would make of it).
	want := *first
	want.Count, want.FirstEventTime, want.LastEventTime, want.EventTime = r.Count, r.FirstEventTime, r.LastEventTime, r.EventTime
	want.EventIDs, want.Body, want.Rollup, want.HasRef, want.Ref = r.EventIDs, r.Body, true, false, RecordRef{}
	assert.Equal(t, want, *r)
	assert.Equal(t, int64(403), r.Context["http.response.status_code"])
}

// TestSuppressionWindowFootprint measures the heap an open window holds: the windows of the
// built-in pack's 24 h rules stay open for a day, thousands at a time in a busy workspace.
func TestSuppressionWindowFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	e := builtinEngine(t)
	e.sup.max = 1 << 20
	e.cfg.MaxEntities = 1 << 20
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const users = 2000
	for u := range users {
		denyRequests(e, fmt.Sprintf("user-%05d@corp.com", u), 26, at)
	}
	require.Equal(t, users, countRule(e, "DBX-W07"), "one open DBX-W07 window per user")
	clear(e.sup.dirty)
	withWindows := liveHeap()
	for k, en := range e.sup.m {
		if en.Rule == "DBX-W07" {
			delete(e.sup.m, k)
		}
	}
	e.sup.m = maps.Clone(e.sup.m) // a map does not shrink when emptied
	perWindow := float64(withWindows-liveHeap()) / users
	t.Logf("an open window holds %.0f bytes of heap", perWindow)
	assert.Less(t, perWindow, 1500.0, "the first finding is kept encoded, not as a Finding with its context map")
	assert.Greater(t, perWindow, 500.0, "closing a window frees it (the expiry order does not hold on to it)")
	runtime.KeepAlive(e)
}

func countRule(e *Engine, rule string) int {
	n := 0
	for _, en := range e.sup.m {
		if en.Rule == rule {
			n++
		}
	}
	return n
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A window stored by an earlier version keeps the whole first finding; its roll-up is the same.
func TestRollupOfAWindowStoredWithTheWholeFinding(t *testing.T) {
	e := builtinEngine(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	w07 := denyRequests(e, "alice@corp.com", 26, at)
	require.Len(t, w07, 1)
	first := w07[0]
	whole, err := json.Marshal(first)
	require.NoError(t, err)
	stored, err := json.Marshal(map[string]any{"r": "DBX-W07", "x": first.EventTime + int64(time.Hour), "f": first.FirstEventTime,
		"l": first.LastEventTime + int64(time.Minute), "n": 3, "i": first.EventIDs, "g": json.RawMessage(whole)})
	require.NoError(t, err)

	restored := builtinEngine(t)
	restored.restoreSuppressionWindow(first.DedupKey, stored)
	var closed []*Finding
	restored.sup.sweep(restored, math.MaxInt64, &closed)
	require.Len(t, closed, 1)
	r := closed[0]
	assert.Equal(t, 3, r.Count)
	assert.Equal(t, first.Body+" (3 occurrences in 1m)", r.Body)
	want := *first
	want.Count, want.LastEventTime, want.EventTime = 3, first.LastEventTime+int64(time.Minute), first.LastEventTime+int64(time.Minute)
	want.Body, want.Rollup, want.HasRef, want.Ref = r.Body, true, false, RecordRef{}
	assert.Equal(t, want, *r)

	// A stored window of a rule no longer configured closes without a roll-up.
	other := builtinEngine(t)
	gone := bytes.Replace(stored, []byte(`"r":"DBX-W07"`), []byte(`"r":"CUSTOM-GONE"`), 1)
	require.NotEqual(t, stored, gone)
	other.restoreSuppressionWindow("CUSTOM-GONE|alice@corp.com", gone)
	closed = nil
	other.sup.sweep(other, math.MaxInt64, &closed)
	assert.Empty(t, closed)
	assert.Zero(t, other.SuppressionWindows())
}

func TestDropOldestClosesTheWindowThatExpiresFirst(t *testing.T) {
	s := suppressor{m: map[string]*supEntry{}, max: 1 << 20}
	s.open("a", &supEntry{Expires: 10})
	s.open("b", &supEntry{Expires: 5})
	s.open("c", &supEntry{Expires: 20})
	delete(s.m, "b") // closed by a sweep
	s.open("b", &supEntry{Expires: 30})

	s.dropOldest()
	assert.ElementsMatch(t, []string{"b", "c"}, slices.Collect(maps.Keys(s.m)), "a (10) goes first; b's closed window (5) is not counted")
	s.dropOldest()
	assert.ElementsMatch(t, []string{"b"}, slices.Collect(maps.Keys(s.m)))
	assert.Contains(t, s.dirty, "a")
	assert.Contains(t, s.dirty, "c")
	s.dropOldest()
	s.dropOldest() // nothing left: no panic
	assert.Empty(t, s.m)
}

func TestExpiryOrderStaysBoundedWhileWindowsClose(t *testing.T) {
	s := suppressor{m: map[string]*supEntry{}, max: 1 << 20}
	for i := range 50_000 {
		k := fmt.Sprintf("k%d", i)
		s.open(k, &supEntry{Expires: int64(i)})
		if i%10 != 0 {
			delete(s.m, k) // nine in ten close before the cap is reached
		}
	}
	require.Len(t, s.m, 5_000)
	assert.LessOrEqual(t, len(s.byExpiry), 2*len(s.m)+1024+1, "closed windows' items are cleared once they outnumber the open ones")
	s.dropOldest()
	assert.NotContains(t, s.m, "k0")
	assert.Contains(t, s.m, "k10")
}

// BenchmarkAdmitAtTheCap opens windows for new dedup keys while max_entities windows are open:
// each one closes the window that expires first.
func BenchmarkAdmitAtTheCap(b *testing.B) {
	for _, open := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(open), func(b *testing.B) {
			s := suppressor{m: map[string]*supEntry{}, max: open}
			for i := range open {
				s.open(fmt.Sprintf("k%d", i), &supEntry{Expires: int64(i)})
			}
			b.ResetTimer()
			for i := range b.N {
				s.dropOldest()
				s.open(fmt.Sprintf("n%d", i), &supEntry{Expires: int64(open + i)})
			}
		})
	}
}
