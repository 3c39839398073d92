// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// marshalEntitySnapshot is how entities were stored before snapshotEntity wrote the JSON
// itself: each state marshalled, then the snapshot around them.
func marshalEntitySnapshot(t *testing.T, e *Engine, ent *entity) []byte {
	t.Helper()
	s := entitySnap{F: ent.first, L: ent.last, N: ent.events, D: ent.activeDays, LD: ent.lastDay}
	if ent.how != nil {
		s.H = ent.how[:]
	}
	for slot, st := range ent.states {
		r := e.ruleForSlot(ent.space, slot)
		if st == nil || r == nil {
			continue
		}
		b, err := json.Marshal(st)
		require.NoError(t, err)
		if s.R == nil {
			s.R = map[string]json.RawMessage{}
		}
		s.R[r.stateKey] = b
	}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return b
}

// The stored form of an entity is exactly what json.Marshal of its entitySnap gives, for
// entities of every group space with the states the built-in pack leaves after a few days
// of mixed activity (thresholds near and far from their limits, baselines, profiles,
// sequences, new values).
func TestEntitySnapshotMatchesJSONMarshal(t *testing.T) {
	e := builtinEngine(t)
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	actions := []struct {
		service, action string
		status          int64
	}{
		{"accounts", "login", 401}, {"accounts", "login", 200}, {"unityCatalog", "getTable", 403},
		{"unityCatalog", "getTable", 200}, {"secrets", "getSecret", 200}, {"workspace", "workspaceConfEdit", 200},
		{"notebook", "deleteNotebook", 200}, {"accounts", "addPrincipalToGroup", 200}, {"iamRole", "setAdmin", 200},
		{"unityCatalog", "generateTemporaryTableCredential", 200}, {"clusters", "delete", 200},
	}
	n := 0
	for day := 0; day < 3; day++ {
		for i := 0; i < 400; i++ {
			user := fmt.Sprintf("user%02d@corp.com", i%23)
			a := actions[(i*7+day)%len(actions)]
			ld := record(map[string]any{
				"user.email": user, "databricks.service_name": a.service, "databricks.action_name": a.action,
				"http.response.status_code": a.status, "databricks.event_id": fmt.Sprintf("ev-%d", n),
				"source.address":                fmt.Sprintf("198.51.100.%d", i%9+1),
				"user_agent.original":           []string{"Mozilla/5.0 Chrome/120", "curl/8.5", "TruffleHog/3"}[i%3],
				"databricks.object.name":        fmt.Sprintf("main.s%d.t%d", i%4, i%11),
				"databricks.request_params.key": fmt.Sprintf("k%d", i%13), "databricks.request_params.scope": "s<&>\"x",
			})
			at := start.Add(time.Duration(day)*24*time.Hour + time.Duration(i)*37*time.Second)
			ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(pcommon.NewTimestampFromTime(at))
			e.Process(context.Background(), ld, at)
			n++
		}
	}
	entities, withStates, withProfile := 0, 0, 0
	for ent := e.lru.front(); ent != nil; ent = e.lru.after(ent) {
		got, err := e.snapshotEntity(ent)
		require.NoError(t, err)
		want := marshalEntitySnapshot(t, e, ent)
		require.Equal(t, string(want), string(got), "entity %s", ent.key)
		entities++
		if strings.Contains(string(want), `"r":{`) {
			withStates++
		}
		if ent.how != nil {
			withProfile++
		}
		bare := *ent // no rule state, no profile: "h" and "r" are left out
		bare.states, bare.how = nil, nil
		got, err = e.snapshotEntity(&bare)
		require.NoError(t, err)
		require.Equal(t, string(marshalEntitySnapshot(t, e, &bare)), string(got))
	}
	assert.Greater(t, entities, 23, "identities and entities of other group spaces")
	assert.Positive(t, withStates)
	assert.Positive(t, withProfile)
	t.Logf("%d entities compared, %d with rule state, %d with an hour-of-week profile", entities, withStates, withProfile)
}

// valueSet's stored form is still what json.Marshal of valueSetJSON gives, and reads back.
func FuzzValueSetJSON(f *testing.F) {
	f.Add([]byte{}, uint32(0))
	f.Add([]byte("0123456789abcdef"), uint32(1))
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"), uint32(7))
	f.Fuzz(func(t *testing.T, raw []byte, total uint32) {
		var s valueSet
		for i := 0; i+16 <= len(raw); i += 16 {
			s.V = append(s.V, valueEntry{
				H: binary.LittleEndian.Uint64(raw[i:]), L: binary.LittleEndian.Uint32(raw[i+8:]), N: binary.LittleEndian.Uint32(raw[i+12:]),
			})
		}
		s.Total = total
		got, err := s.MarshalJSON()
		require.NoError(t, err)
		want, err := json.Marshal(valueSetJSON{V: base64.RawStdEncoding.EncodeToString(raw[:16*len(s.V)]), T: total})
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		var back valueSet
		require.NoError(t, json.Unmarshal(got, &back))
		require.Len(t, back.V, len(s.V))
		require.Equal(t, total, back.Total)
	})
}
