// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// HandoffSnapshot is one identity's state as written for the next owner
// when identities move between instances (a tier-2 detector joins or
// leaves). State is the same entity encoding the storage extension holds.
type HandoffSnapshot struct {
	Identity string `json:"id"`
	// Version is the identity's last event time (unix ns) on the writer: of
	// two owners during a ring change, the one that saw the later record
	// holds the newer state.
	Version int64 `json:"v"`
	// Since are the writer's learning clocks (rule start, by rule state
	// key): a joining instance adopts them for the identity's rules instead
	// of restarting learning at its own first record.
	Since map[string]int64 `json:"since,omitempty"`
	State json.RawMessage  `json:"state"`
}

// HandoffLoader returns the snapshot handed off for identity when there is
// one whose version is newer than newerThan (unix ns), else nil, nil.
type HandoffLoader func(ctx context.Context, identity string, newerThan int64) (*HandoffSnapshot, error)

// SetHandoff makes the engine look for a handed-off snapshot on the first
// sight of every identity in this process, and again when an identity
// returns after a silence of at least recheckAfter (event time: another
// owner may have handled it meanwhile), and adopt it when it saw a later
// record than the local state. adopted and failed report each outcome
// (failed never stops processing: the identity continues with its local
// state).
func (e *Engine) SetHandoff(load HandoffLoader, recheckAfter time.Duration, adopted func(), failed func(identity string, err error)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handoffLoad = load
	e.handoffRecheck = recheckAfter
	e.handoffAdopted = adopted
	e.handoffFailed = failed
	if e.handoffPending == nil {
		e.handoffPending = map[string]HandoffSnapshot{}
	}
}

// adoptHandoff replaces ent's local state (restored from storage, or empty)
// with the handed-off snapshot when that one saw a later record.
func (e *Engine) adoptHandoff(ctx context.Context, ent *entity) {
	var snap *HandoffSnapshot
	if s, ok := e.handoffPending[ent.key]; ok {
		// Evicted at max_entities before it was written: this is the
		// newest state there is.
		delete(e.handoffPending, ent.key)
		snap = &s
		ent.handoffDirty = true
	} else {
		var err error
		if snap, err = e.handoffLoad(ctx, ent.key, ent.last); err != nil {
			e.handoffFailed(ent.key, err)
			return
		}
	}
	if snap == nil || snap.Version <= ent.last {
		return
	}
	if snap.Identity != ent.key {
		// Files are named by a hash of the identity; a collision or a
		// hand-edited file must not give one identity another's history.
		e.handoffFailed(ent.key, fmt.Errorf("snapshot is for another identity (%q)", snap.Identity))
		return
	}
	adopted := &entity{space: ent.space, key: ent.key}
	if err := e.restoreEntity(adopted, snap.State); err != nil {
		e.handoffFailed(ent.key, err)
		return
	}
	ent.first, ent.last, ent.events, ent.activeDays, ent.lastDay = adopted.first, adopted.last, adopted.events, adopted.activeDays, adopted.lastDay
	ent.how, ent.states = adopted.how, adopted.states
	ent.dirty = true
	// The fleet has run a rule at least since the earliest clock any owner
	// reports; a rule whose semantics differ has another state key and keeps
	// its own clock (its state was dropped by restoreEntity, so it relearns).
	for _, r := range e.spaceRules(ent.space) {
		if s := snap.Since[r.stateKey]; s > 0 && (r.since == 0 || s < r.since) {
			r.since = s
			e.metaDirty = true
		}
	}
	e.handoffAdopted()
}

// handoffSnapshotLocked serialises an identity entity for the next owner.
func (e *Engine) handoffSnapshotLocked(ent *entity) (HandoffSnapshot, error) {
	data, err := e.snapshotEntity(ent)
	if err != nil {
		return HandoffSnapshot{}, err
	}
	since := make(map[string]int64, ent.space.nslots)
	for _, r := range e.spaceRules(ent.space) {
		if r.since != 0 {
			since[r.stateKey] = r.since
		}
	}
	return HandoffSnapshot{Identity: ent.key, Version: ent.last, Since: since, State: data}, nil
}

// HandoffSnapshots returns the identities whose state changed since the
// previous call (including identities evicted at max_entities meanwhile)
// and clears their marks; RequeueHandoff gives back the ones that could
// not be written.
func (e *Engine) HandoffSnapshots() []HandoffSnapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.handoffLoad == nil {
		return nil
	}
	out := make([]HandoffSnapshot, 0, len(e.handoffPending))
	for _, s := range e.handoffPending {
		out = append(out, s)
	}
	clear(e.handoffPending)
	var errs []error
	for ent := e.lru.front(); ent != nil; ent = e.lru.after(ent) {
		if !ent.handoffDirty {
			continue
		}
		s, err := e.handoffSnapshotLocked(ent)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ent.handoffDirty = false
		out = append(out, s)
	}
	if err := errors.Join(errs...); err != nil {
		e.logger.Warn("access_anomaly: cannot serialise identity state for handoff; those identities are skipped", zap.Error(err))
	}
	return out
}

// RequeueHandoff keeps snapshots whose write failed for the next call,
// unless a newer one of the same identity is already waiting.
func (e *Engine) RequeueHandoff(snaps []HandoffSnapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.handoffPending == nil {
		return
	}
	for _, s := range snaps {
		if ent := e.identity.entities[s.Identity]; ent != nil && ent.handoffDirty {
			continue // the next call serialises the current state anyway
		}
		if cur, ok := e.handoffPending[s.Identity]; !ok || cur.Version <= s.Version {
			e.handoffPending[s.Identity] = s
		}
	}
}

// Watermark is the newest event time seen (unix ns).
func (e *Engine) Watermark() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.watermark
}

// IdentitySummary is what the behavioural learning gates read for one
// identity.
type IdentitySummary struct {
	First, Last int64 // event time, unix ns
	Events      uint32
	ActiveDays  uint16
	// LearningFrom is, per rule id, when the rule's learning period started
	// for this identity: the later of the identity's first event and the
	// rule's own start.
	LearningFrom map[string]int64
}

// Identity returns the summary of an identity held in memory.
func (e *Engine) Identity(identity string) (IdentitySummary, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.identity.entities[identity]
	if ent == nil {
		return IdentitySummary{}, false
	}
	s := IdentitySummary{First: ent.first, Last: ent.last, Events: ent.events, ActiveDays: ent.activeDays, LearningFrom: map[string]int64{}}
	for _, r := range e.spaceRules(ent.space) {
		s.LearningFrom[r.rule.ID] = max(ent.first, r.since)
	}
	return s, true
}
