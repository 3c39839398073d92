// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Storage layout (one storage client per processor instance):
//
//	meta                      watermark and per-rule learning clocks
//	sup/<shard>               open suppression windows (shards 00…3f; see supShards)
//	prev/<rule state key>     organisation prevalence of new values
//	e/<group hash>/<entity>   one entity: summary, profile, detector state
const (
	KeyMeta         = "meta"
	KeySuppression  = "sup"
	KeyPrefixPrev   = "prev/"
	KeyPrefixEntity = "e/"
)

func entityKey(s *groupSpace, key string) string {
	return KeyPrefixEntity + s.sigHash + "/" + key
}

type entitySnap struct {
	F  int64                      `json:"f"`
	L  int64                      `json:"l"`
	N  uint32                     `json:"n"`
	D  uint16                     `json:"d"`
	LD int32                      `json:"ld"`
	H  []uint16                   `json:"h,omitempty"`
	R  map[string]json.RawMessage `json:"r,omitempty"`
}

type metaSnap struct {
	Watermark int64            `json:"w"`
	Since     map[string]int64 `json:"since"`
}

func (e *Engine) snapshotEntity(ent *entity) ([]byte, error) {
	s := entitySnap{F: ent.first, L: ent.last, N: ent.events, D: ent.activeDays, LD: ent.lastDay}
	if ent.how != nil {
		s.H = ent.how[:]
	}
	for slot, st := range ent.states {
		if st == nil {
			continue
		}
		r := e.ruleForSlot(ent.space, slot)
		if r == nil {
			continue
		}
		b, err := json.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.rule.ID, err)
		}
		if s.R == nil {
			s.R = make(map[string]json.RawMessage, len(ent.states))
		}
		s.R[r.stateKey] = b
	}
	return json.Marshal(s)
}

func (e *Engine) ruleForSlot(s *groupSpace, slot int) *compiledRule {
	if e.risk != nil && e.risk.space == s && e.risk.slot == slot {
		return e.risk
	}
	for _, r := range e.rules {
		if r.space == s && r.slot == slot {
			return r
		}
	}
	return nil
}

// restoreEntity fills ent from a snapshot. State of rules whose semantics
// changed (different state key) is dropped, so they learn afresh.
func (e *Engine) restoreEntity(ent *entity, data []byte) error {
	var s entitySnap
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	ent.first, ent.last, ent.events, ent.activeDays, ent.lastDay = s.F, s.L, s.N, s.D, s.LD
	if len(s.H) == 168 && ent.space.identity {
		ent.how = new([168]uint16)
		copy(ent.how[:], s.H)
	}
	ent.persisted = len(data)
	for _, r := range e.spaceRules(ent.space) {
		raw, ok := s.R[r.stateKey]
		if !ok {
			continue
		}
		st := r.det.newState()
		if st == nil {
			continue
		}
		if err := json.Unmarshal(raw, st); err != nil {
			return fmt.Errorf("rule %s: %w", r.rule.ID, err)
		}
		ent.setState(r.slot, st)
	}
	return nil
}

func (e *Engine) spaceRules(s *groupSpace) []*compiledRule {
	var out []*compiledRule
	for _, r := range e.rules {
		if r.space == s {
			out = append(out, r)
		}
	}
	if e.risk != nil && e.risk.space == s {
		out = append(out, e.risk)
	}
	return out
}

// Write is one storage operation produced by Snapshot; Value nil = delete.
type Write struct {
	Key   string
	Value []byte
}

// Snapshot serialises everything changed since the last snapshot (dirty
// entities, entities evicted at the cap, idle deletions, meta, suppression,
// prevalence) and clears the dirty marks. The caller writes the result in
// one storage batch.
func (e *Engine) Snapshot() []Write {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Write
	for k, v := range e.pending {
		out = append(out, Write{Key: k, Value: v})
	}
	clear(e.pending)
	for k := range e.deleted {
		out = append(out, Write{Key: k})
	}
	clear(e.deleted)
	for ent := e.lru.front(); ent != nil; ent = e.lru.after(ent) {
		if !ent.dirty {
			continue
		}
		data, err := e.snapshotEntity(ent)
		if err != nil {
			e.logger.Warn("access_anomaly: cannot serialise entity state")
			continue
		}
		e.stateBytes += int64(len(data) - ent.persisted)
		ent.persisted = len(data)
		ent.dirty = false
		out = append(out, Write{Key: entityKey(ent.space, ent.key), Value: data})
	}
	if e.metaDirty {
		m := metaSnap{Watermark: e.watermark, Since: map[string]int64{}}
		for _, r := range e.allRules() {
			if r.since != 0 {
				m.Since[r.stateKey] = r.since
			}
		}
		if b, err := json.Marshal(m); err == nil {
			out = append(out, Write{Key: KeyMeta, Value: b})
			e.metaDirty = false
		}
	}
	out = e.snapshotSuppression(out)
	for k, tbl := range e.prev {
		if !tbl.dirty {
			continue
		}
		if b, err := json.Marshal(tbl); err == nil {
			out = append(out, Write{Key: KeyPrefixPrev + k, Value: b})
			tbl.dirty = false
		}
	}
	return out
}

func supShardKey(i int) string { return fmt.Sprintf("%s/%02x", KeySuppression, i) }

// snapshotSuppression appends one write per changed shard (a delete when the
// shard emptied), and the delete of the pre-shard key after an upgrade.
func (e *Engine) snapshotSuppression(out []Write) []Write {
	var shards [supShards]map[string]*supEntry
	changed := false
	for _, d := range e.sup.dirty {
		changed = changed || d
	}
	if !changed && !e.sup.legacy {
		return out
	}
	for k, en := range e.sup.m {
		i := supShard(k)
		if !e.sup.dirty[i] {
			continue
		}
		if shards[i] == nil {
			shards[i] = map[string]*supEntry{}
		}
		shards[i][k] = en
	}
	for i, d := range e.sup.dirty {
		if !d {
			continue
		}
		if len(shards[i]) == 0 {
			out = append(out, Write{Key: supShardKey(i)})
			e.sup.dirty[i] = false
			continue
		}
		if b, err := json.Marshal(shards[i]); err == nil {
			out = append(out, Write{Key: supShardKey(i), Value: b})
			e.sup.dirty[i] = false
		}
	}
	if e.sup.legacy {
		out = append(out, Write{Key: KeySuppression})
		e.sup.legacy = false
	}
	return out
}

// restoreSuppression reads every shard, and the single key earlier versions
// wrote (its windows are then written to the shards by the next snapshot).
func (e *Engine) restoreSuppression(get func(key string) ([]byte, error)) error {
	m := map[string]*supEntry{}
	load := func(key string) (bool, error) {
		b, err := get(key)
		if err != nil || len(b) == 0 {
			return false, err
		}
		part := map[string]*supEntry{}
		if json.Unmarshal(b, &part) != nil {
			return false, nil
		}
		for k, en := range part {
			if en != nil {
				m[k] = en
			}
		}
		return true, nil
	}
	legacy, err := load(KeySuppression)
	if err != nil {
		return err
	}
	for i := 0; i < supShards; i++ {
		if _, err := load(supShardKey(i)); err != nil {
			return err
		}
	}
	e.sup.m = m
	if legacy {
		e.sup.legacy = true
		e.sup.markAll()
	}
	return nil
}

func (e *Engine) allRules() []*compiledRule {
	if e.risk == nil {
		return e.rules
	}
	return append(append([]*compiledRule(nil), e.rules...), e.risk)
}

// MarkAllDirty makes the next Snapshot write every entity (used after a
// failed storage batch so nothing is lost).
func (e *Engine) MarkAllDirty() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ent := e.lru.front(); ent != nil; ent = e.lru.after(ent) {
		ent.dirty = true
	}
	e.metaDirty = true
	e.sup.markAll()
	for _, t := range e.prev {
		t.dirty = true
	}
}

// Restore loads the global state (meta, suppression, prevalence) with get
// and, when walk is given, preloads stored entities up to max_entities.
func (e *Engine) Restore(get func(key string) ([]byte, error), walk func(fn func(key string, value []byte) error) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, err := get(KeyMeta); err != nil {
		return err
	} else if len(b) > 0 {
		var m metaSnap
		if err := json.Unmarshal(b, &m); err == nil {
			e.watermark = m.Watermark
			e.lastSweep = m.Watermark
			for _, r := range e.allRules() {
				r.since = m.Since[r.stateKey]
			}
			e.needSince = true
		}
	}
	if err := e.restoreSuppression(get); err != nil {
		return err
	}
	for _, r := range e.rules {
		if r.rule.GlobalPrevalence.MinEntities <= 0 {
			continue
		}
		b, err := get(KeyPrefixPrev + r.stateKey)
		if err != nil {
			return err
		}
		if len(b) > 0 {
			tbl := &prevalenceTable{}
			if err := json.Unmarshal(b, tbl); err == nil && tbl.M != nil {
				e.prev[r.stateKey] = tbl
			}
		}
	}
	if walk == nil {
		return nil
	}
	bySig := map[string]*groupSpace{}
	for _, s := range e.spaces {
		bySig[s.sigHash] = s
	}
	return walk(func(key string, value []byte) error {
		rest, ok := strings.CutPrefix(key, KeyPrefixEntity)
		if !ok || e.lru.n >= e.cfg.MaxEntities {
			return nil
		}
		sig, ek, ok := strings.Cut(rest, "/")
		s := bySig[sig]
		if !ok || s == nil || s.entities[ek] != nil {
			return nil
		}
		ent := &entity{space: s, key: ek}
		if err := e.restoreEntity(ent, value); err != nil {
			e.logger.Warn("access_anomaly: dropping unreadable stored state")
			return nil
		}
		e.stateBytes += int64(len(value))
		ent.handoffUnchecked = true
		s.entities[ek] = ent
		e.lru.pushFront(ent)
		return nil
	})
}
