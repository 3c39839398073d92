// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventIDsKeepEveryIDAsItWas(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		packed int // bytes the id takes
	}{
		{"derived id, 32 lowercase hex digits", "9f86d081884c7d659a2feaa0c55ad015", 17},
		{"system table event_id, lowercase UUID", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", 17},
		{"uppercase hex stays as written", "9F86D081884C7D659A2FEAA0C55AD015", 34},
		{"uppercase UUID stays as written", "1B4E28BA-2FA1-11D2-883F-0016D3CCA427", 38},
		{"a UUID without dashes where they belong", "1b4e28ba02fa1011d20883f00016d3cca427", 38},
		{"33 hex digits", "9f86d081884c7d659a2feaa0c55ad0150", 35},
		{"short", "ev-01", 7},
		{"long (two-byte length)", strings.Repeat("x", 300), 303},
		{"not UTF-8", "\xff\xfe-id", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := eventIDs(nil).push(tt.id, 10)
			assert.Len(t, p, tt.packed)
			assert.Equal(t, []string{tt.id}, p.strings())
			assert.True(t, p.contains(tt.id))
			assert.Equal(t, 1, p.count())
		})
	}
}

func TestEventIDsPushKeepsTheLastNAtItsFinalSize(t *testing.T) {
	var ring eventIDs
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("%032x", i) // packed: 17 bytes each
		want = append(want, id)
		ring = ring.push(id, 10)
		assert.Equal(t, 10*packedIDSize, cap(ring), "allocated once, at max_event_ids")
	}
	assert.Equal(t, want[15:], ring.strings())
	assert.Nil(t, eventIDs(nil).push("", 10), "no id, no ring")

	mixed := eventIDs(nil)
	for i := range 7 {
		mixed = mixed.push(fmt.Sprintf("ev-%d", i), 3)
		mixed = mixed.push(fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), 3)
	}
	assert.Equal(t, []string{"00000005-0000-4000-8000-000000000005", "ev-6", "00000006-0000-4000-8000-000000000006"}, mixed.strings())

	var large eventIDs
	for i := range 100 {
		large = large.push(fmt.Sprintf("%032x", i), 1000)
	}
	assert.Equal(t, 100, large.count(), "a ring over maxPreallocatedRing grows as ids arrive")
	assert.Less(t, cap(large), 1000*packedIDSize)
}

func TestEventIDsAddKeepsTheFirstNOnce(t *testing.T) {
	var p eventIDs
	for _, id := range []string{"a", "b", "a", "c", "d"} {
		p = p.add(id, 3)
	}
	assert.Equal(t, []string{"a", "b", "c"}, p.strings())
	assert.Equal(t, 3, p.count())
	assert.True(t, p.contains("b"))
	assert.False(t, p.contains("d"), "an id past the first n is not kept")
}

// Stored state keeps the form of earlier versions: a JSON array of ids.
func TestEventIDsAreStoredAsAnArrayOfStrings(t *testing.T) {
	ids := []string{"9f86d081884c7d659a2feaa0c55ad015", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "ev-3"}
	st := thresholdState{IDs: packEventIDs(ids)}
	b, err := json.Marshal(st)
	require.NoError(t, err)
	old, err := json.Marshal(struct {
		IDs []string `json:"i"`
	}{ids})
	require.NoError(t, err)
	assert.Contains(t, string(b), strings.Trim(string(old), "{}"))

	var back thresholdState
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, ids, back.IDs.strings())

	b, err = json.Marshal(thresholdState{})
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"i"`, "no ids, no field")
	require.NoError(t, json.Unmarshal([]byte(`{"i":null}`), &back))
	assert.Nil(t, back.IDs.strings())
}

func FuzzEventIDs(f *testing.F) {
	for _, s := range []string{"", "9f86d081884c7d659a2feaa0c55ad015", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "x", "\x00\x01\x02"} {
		f.Add(s, s+"1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		p := eventIDs(nil).push(a, 2).push(b, 2).push(a, 2)
		var want []string
		for _, id := range []string{a, b, a} {
			if id != "" {
				want = append(want, id)
			}
		}
		if len(want) > 2 {
			want = want[len(want)-2:]
		}
		if got := p.strings(); !assert.ObjectsAreEqual(want, got) {
			t.Fatalf("push %q %q %q: got %q, want %q", a, b, a, got, want)
		}
		if packed := packEventIDs([]string{a, b}); len(packed) != cap(packed) {
			t.Fatalf("packEventIDs(%q, %q): %d bytes in an array of %d: packedSize disagrees with appendPacked", a, b, len(packed), cap(packed))
		}
		if got, err := p.MarshalJSON(); err != nil || string(got) != string(must(json.Marshal(p.strings()))) {
			t.Fatalf("MarshalJSON of %q: %s, %v; json.Marshal of the strings gives %s", p.strings(), got, err, must(json.Marshal(p.strings())))
		}
		// Stored, they read back as the same ids stored as strings do (JSON turns bytes that
		// are not UTF-8 into U+FFFD either way).
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		var back eventIDs
		require.NoError(t, json.Unmarshal(raw, &back))
		var asStrings []string
		rawStrings, err := json.Marshal(want)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(rawStrings, &asStrings))
		if !assert.ObjectsAreEqual(asStrings, back.strings()) {
			t.Fatalf("JSON round trip of %q: %q, as strings %q", want, back.strings(), asStrings)
		}
	})
}

// TestEventIDRingFootprint measures the heap a threshold rule's id ring holds: rules with a
// 24 h window keep one per identity near their threshold for up to a day.
func TestEventIDRingFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	e := builtinEngine(t)
	e.cfg.MaxEntities = 1 << 20
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const users = 2000
	for u := range users {
		// 25 denied requests: within max_event_ids of DBX-W07 (more than 25), not over it.
		denyRequests(e, fmt.Sprintf("user-%05d@corp.com", u), 25, at)
	}
	w07 := slices.IndexFunc(e.rules, func(r *compiledRule) bool { return r.rule.ID == "DBX-W07" })
	require.GreaterOrEqual(t, w07, 0)
	var states []*thresholdState
	for u := range users {
		ent := e.identity.entities[fmt.Sprintf("user-%05d@corp.com", u)]
		require.NotNil(t, ent)
		st, _ := ent.states[e.rules[w07].slot].(*thresholdState)
		require.NotNil(t, st)
		require.Equal(t, 10, st.IDs.count())
		states = append(states, st)
	}
	withRings := liveHeap()
	for _, st := range states {
		st.IDs = nil
	}
	perRing := float64(withRings-liveHeap()) / users
	t.Logf("a ring of 10 ids holds %.0f bytes of heap", perRing)
	assert.Less(t, perRing, 250.0, "ten 32-digit ids packed in one array (504 bytes as ten strings)")
	assert.Greater(t, perRing, 150.0)
	runtime.KeepAlive(e)
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
