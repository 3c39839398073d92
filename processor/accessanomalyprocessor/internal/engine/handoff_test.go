// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

var handoffBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// handoffEngine is a built-in engine whose handoff "directory" is a map.
type handoffEngine struct {
	*Engine
	files    map[string]HandoffSnapshot
	adopted  int
	failures []error
}

func newHandoffEngine(t *testing.T, maxEntities int, files map[string]HandoffSnapshot) *handoffEngine {
	rs, err := rules.Builtin()
	require.NoError(t, err)
	cfg := testConfig()
	cfg.MaxEntities = maxEntities
	c, err := Compile(cfg, rs, component.TelemetrySettings{Logger: zap.NewNop()})
	require.NoError(t, err)
	h := &handoffEngine{Engine: New(c, nil, nil), files: files}
	h.SetHandoff(func(_ context.Context, id string, newerThan int64) (*HandoffSnapshot, error) {
		if s, ok := h.files[id]; ok && s.Version > newerThan {
			return &s, nil
		}
		return nil, nil
	}, time.Hour, func() { h.adopted++ }, func(_ string, err error) { h.failures = append(h.failures, err) })
	return h
}

func (h *handoffEngine) see(user string, at time.Time) {
	ld := record(map[string]any{"user.email": user, "databricks.service_name": "unityCatalog", "databricks.action_name": "getTable",
		"source.address": "198.51.100.7"})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(pcommon.NewTimestampFromTime(at))
	h.Process(context.Background(), ld, at)
}

// publish "writes" the changed identities like the processor does.
func (h *handoffEngine) publish() []string {
	var ids []string
	for _, s := range h.HandoffSnapshots() {
		h.files[s.Identity] = s
		ids = append(ids, s.Identity)
	}
	slices.Sort(ids)
	return ids
}

func TestHandoffSnapshotsOnlyChanged(t *testing.T) {
	h := newHandoffEngine(t, 1000, map[string]HandoffSnapshot{})
	h.see("alice@corp.com", handoffBase)
	h.see("bob@corp.com", handoffBase.Add(time.Minute))
	assert.Equal(t, []string{"alice@corp.com", "bob@corp.com"}, h.publish())
	assert.Empty(t, h.publish(), "nothing changed since")
	h.see("alice@corp.com", handoffBase.Add(2*time.Minute))
	assert.Equal(t, []string{"alice@corp.com"}, h.publish())
	s := h.files["alice@corp.com"]
	assert.Equal(t, handoffBase.Add(2*time.Minute).UnixNano(), s.Version)
	b01 := h.rules[slices.IndexFunc(h.rules, func(r *compiledRule) bool { return r.rule.ID == "DBX-B01" })]
	assert.Equal(t, handoffBase.UnixNano(), s.Since[b01.stateKey], "the rules' clocks travel with the state")
	assert.Zero(t, h.adopted)
}

// TestHandoffEvictedBeforeWrite: an identity evicted at max_entities before
// the next write is still handed off, and one that returns before the
// write gets its state back, even without a storage extension.
func TestHandoffEvictedBeforeWrite(t *testing.T) {
	h := newHandoffEngine(t, 1, map[string]HandoffSnapshot{})
	for i := 0; i < 3; i++ {
		h.see("alice@corp.com", handoffBase.Add(time.Duration(i)*time.Minute))
	}
	h.see("bob@corp.com", handoffBase.Add(10*time.Minute)) // evicts alice
	h.see("alice@corp.com", handoffBase.Add(11*time.Minute))
	sum, ok := h.Identity("alice@corp.com")
	require.True(t, ok)
	assert.Equal(t, uint32(4), sum.Events, "alice's 3 earlier events came back from the pending snapshot")
	assert.Equal(t, handoffBase.UnixNano(), sum.First)

	h.see("carol@corp.com", handoffBase.Add(12*time.Minute)) // evicts alice again
	// bob was evicted by alice's return, alice again by carol: all three are
	// handed off, two of them from memory no longer.
	assert.Equal(t, []string{"alice@corp.com", "bob@corp.com", "carol@corp.com"}, h.publish())
	assert.Equal(t, 1, h.EntityCount())
}

func TestHandoffRequeue(t *testing.T) {
	h := newHandoffEngine(t, 1000, map[string]HandoffSnapshot{})
	h.see("alice@corp.com", handoffBase)
	failed := h.HandoffSnapshots()
	require.Len(t, failed, 1)
	h.RequeueHandoff(failed)
	assert.Equal(t, []string{"alice@corp.com"}, h.publish(), "a failed write is retried")
	// A requeued snapshot does not shadow newer state.
	h.see("alice@corp.com", handoffBase.Add(time.Hour))
	stale := failed[0]
	h.RequeueHandoff([]HandoffSnapshot{stale})
	got := h.HandoffSnapshots()
	require.Len(t, got, 1)
	assert.Equal(t, handoffBase.Add(time.Hour).UnixNano(), got[0].Version)
}

// TestHandoffAdoptionRules: a newer snapshot replaces the local state and
// lowers the learning clocks; an older or foreign one is ignored; an
// unreadable one is reported.
func TestHandoffAdoptionRules(t *testing.T) {
	old := newHandoffEngine(t, 1000, map[string]HandoffSnapshot{})
	for d := 0; d < 10; d++ {
		old.see("alice@corp.com", handoffBase.Add(time.Duration(d)*24*time.Hour))
	}
	old.see("bob@corp.com", handoffBase)
	old.publish()

	joiner := newHandoffEngine(t, 1000, old.files)
	joiner.see("alice@corp.com", handoffBase.Add(20*24*time.Hour))
	sum, ok := joiner.Identity("alice@corp.com")
	require.True(t, ok)
	assert.Equal(t, uint32(11), sum.Events)
	assert.Equal(t, handoffBase.UnixNano(), sum.LearningFrom["DBX-B01"], "the joiner's own clock (day 20) was lowered to the fleet's")
	assert.Equal(t, 1, joiner.adopted)

	// Foreign content under bob's name, and a snapshot that fails to decode.
	joiner.files["bob@corp.com"] = HandoffSnapshot{Identity: "mallory@corp.com", Version: 1, State: old.files["bob@corp.com"].State}
	b01 := joiner.rules[slices.IndexFunc(joiner.rules, func(r *compiledRule) bool { return r.rule.ID == "DBX-B01" })]
	joiner.files["carol@corp.com"] = HandoffSnapshot{Identity: "carol@corp.com", Version: 1, State: []byte(`{"r":{"` + b01.stateKey + `":"x"}}`)}
	joiner.see("bob@corp.com", handoffBase.Add(20*24*time.Hour))
	joiner.see("carol@corp.com", handoffBase.Add(20*24*time.Hour))
	require.Len(t, joiner.failures, 2)
	sum, _ = joiner.Identity("bob@corp.com")
	assert.Equal(t, uint32(1), sum.Events, "bob continues on local state")

	// Not newer than the local state: kept local.
	joiner.files["alice@corp.com"] = HandoffSnapshot{Identity: "alice@corp.com", Version: handoffBase.UnixNano(), State: []byte(`{}`)}
	joiner.see("alice@corp.com", handoffBase.Add(22*24*time.Hour))
	sum, _ = joiner.Identity("alice@corp.com")
	assert.Equal(t, uint32(12), sum.Events)
	assert.Equal(t, 1, joiner.adopted)

	// A load error is reported and processing goes on.
	broken := newHandoffEngine(t, 1000, nil)
	broken.SetHandoff(func(context.Context, string, int64) (*HandoffSnapshot, error) {
		return nil, errors.New("stale NFS handle")
	},
		time.Hour, func() {}, func(_ string, err error) { broken.failures = append(broken.failures, err) })
	broken.see("alice@corp.com", handoffBase)
	broken.see("alice@corp.com", handoffBase.Add(time.Minute)) // no recheck within the interval
	assert.Len(t, broken.failures, 1)
	_, ok = broken.Identity("alice@corp.com")
	assert.True(t, ok)
}
