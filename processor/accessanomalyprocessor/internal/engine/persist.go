// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Storage layout (one storage client per processor instance):
//
//	meta                      watermark and per-rule learning clocks
//	sup/w/<dedup key>         one open suppression window
//	prev/<rule state key>     organisation prevalence of new values
//	e/<group hash>/<entity>   one entity: summary, profile, detector state
const (
	KeyMeta              = "meta"
	KeyPrefixSuppression = "sup/w/"
	KeyPrefixPrev        = "prev/"
	KeyPrefixEntity      = "e/"
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

// snapshotEntity is the stored form of ent: the JSON of its entitySnap, each
// rule's state under the rule's state key. It writes that JSON in one pass
// into a reused buffer instead of marshalling each state and then the
// snapshot around them, which re-scanned and copied every state (a flush
// of every entity was half encoding/json's compaction of those copies); the
// bytes are the same as json.Marshal(entitySnap) gives
// (TestEntitySnapshotMatchesJSONMarshal).
func (e *Engine) snapshotEntity(ent *entity) ([]byte, error) {
	buf := &e.snapBuf
	buf.Reset()
	b := buf.AvailableBuffer()
	b = append(b, `{"f":`...)
	b = strconv.AppendInt(b, ent.first, 10)
	b = append(b, `,"l":`...)
	b = strconv.AppendInt(b, ent.last, 10)
	b = append(b, `,"n":`...)
	b = strconv.AppendUint(b, uint64(ent.events), 10)
	b = append(b, `,"d":`...)
	b = strconv.AppendUint(b, uint64(ent.activeDays), 10)
	b = append(b, `,"ld":`...)
	b = strconv.AppendInt(b, int64(ent.lastDay), 10)
	if ent.how != nil {
		b = append(b, `,"h":[`...)
		for i, v := range ent.how {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(v), 10)
		}
		b = append(b, ']')
	}
	buf.Write(b)
	states := e.snapStates[:0]
	for slot, st := range ent.states {
		if st == nil {
			continue
		}
		if r := e.ruleForSlot(ent.space, slot); r != nil {
			states = append(states, slotState{rule: r, state: st})
		}
	}
	// The scratch keeps its array, not the states: an evicted entity's are not held on.
	defer func() { clear(states); e.snapStates = states[:0] }()
	if len(states) > 0 {
		// encoding/json writes map keys sorted.
		slices.SortFunc(states, func(a, b slotState) int { return strings.Compare(a.rule.stateKey, b.rule.stateKey) })
		buf.WriteString(`,"r":{`)
		for i, s := range states {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(s.rule.stateKeyJSON)
			buf.WriteByte(':')
			if a, ok := s.state.(jsonAppender); ok {
				out, err := a.appendJSON(buf.AvailableBuffer())
				if err != nil {
					return nil, fmt.Errorf("rule %s: %w", s.rule.rule.ID, err)
				}
				buf.Write(out)
				continue
			}
			if err := e.snapEnc.Encode(s.state); err != nil {
				return nil, fmt.Errorf("rule %s: %w", s.rule.rule.ID, err)
			}
			buf.Truncate(buf.Len() - 1) // Encode ends each value with a newline
		}
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	return bytes.Clone(buf.Bytes()), nil
}

// slotState is one rule's state of the entity being written.
type slotState struct {
	rule  *compiledRule
	state any
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

// Every open suppression window is one small value of its own, written when
// it opens, changes or closes. Earlier layouts kept all windows in one value,
// then in 64 shards: a value that grows to megabytes with the findings of a
// busy workspace and is rewritten at every flush makes file_storage's bbolt
// file grow without bound, because each rewrite needs a longer contiguous run
// of free pages than the file has (the reliability soak's state file reached
// 450 MB for 41 MB of state in an hour). Values that fit a page reuse freed
// pages.
const (
	legacySuppressionKey    = "sup"
	legacySuppressionShards = 64
)

func legacySuppressionShardKey(i int) string { return fmt.Sprintf("%s/%02x", legacySuppressionKey, i) }

// isLegacySuppressionKey is true for "sup" and its shards "sup/00"…"sup/3f", and false for the
// per-window keys under KeyPrefixSuppression ("sup/w/…").
func isLegacySuppressionKey(key string) bool {
	if key == legacySuppressionKey {
		return true
	}
	shard, ok := strings.CutPrefix(key, legacySuppressionKey+"/")
	if !ok || len(shard) != 2 {
		return false
	}
	i, err := strconv.ParseUint(shard, 16, 8)
	return err == nil && i < legacySuppressionShards
}

// snapshotSuppression appends a write for every window changed since the last
// snapshot (a delete for a closed one) and the deletes of legacy keys.
func (e *Engine) snapshotSuppression(out []Write) []Write {
	for k := range e.sup.dirty {
		en := e.sup.m[k]
		if en == nil {
			out = append(out, Write{Key: KeyPrefixSuppression + k})
			continue
		}
		b, err := json.Marshal(en)
		if err != nil {
			e.logger.Warn("access_anomaly: cannot serialise a suppression window")
			continue
		}
		out = append(out, Write{Key: KeyPrefixSuppression + k, Value: b})
	}
	clear(e.sup.dirty)
	for _, k := range e.sup.legacyKeys {
		out = append(out, Write{Key: k})
	}
	e.sup.legacyKeys = nil
	return out
}

// restoreLegacySuppression reads the keys earlier versions wrote; their
// windows are written one per key, and the keys deleted, by the next snapshot.
func (e *Engine) restoreLegacySuppression(get func(key string) ([]byte, error)) error {
	keys := []string{legacySuppressionKey}
	for i := 0; i < legacySuppressionShards; i++ {
		keys = append(keys, legacySuppressionShardKey(i))
	}
	for _, key := range keys {
		b, err := get(key)
		if err != nil {
			return err
		}
		if len(b) == 0 {
			continue
		}
		e.sup.legacyKeys = append(e.sup.legacyKeys, key)
		part := map[string]*supEntry{}
		if json.Unmarshal(b, &part) != nil {
			continue
		}
		for k, en := range part {
			if en != nil {
				e.sup.open(k, en)
				e.sup.touch(k)
			}
		}
	}
	return nil
}

func (e *Engine) allRules() []*compiledRule {
	if e.risk == nil {
		return e.rules
	}
	return append(append([]*compiledRule(nil), e.rules...), e.risk)
}

// MarkAllDirty makes the next Snapshot write every entity and repeat the
// deletes among failed, the writes of a storage batch that failed, so that
// nothing is lost.
func (e *Engine) MarkAllDirty(failed []Write) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range failed {
		if w.Value != nil {
			continue
		}
		switch {
		case strings.HasPrefix(w.Key, KeyPrefixSuppression):
			if k := strings.TrimPrefix(w.Key, KeyPrefixSuppression); e.sup.m[k] == nil {
				e.sup.touch(k)
			}
		case strings.HasPrefix(w.Key, KeyPrefixEntity):
			e.deleted[w.Key] = struct{}{}
		case isLegacySuppressionKey(w.Key):
			e.sup.legacyKeys = append(e.sup.legacyKeys, w.Key)
		}
	}
	for ent := e.lru.front(); ent != nil; ent = e.lru.after(ent) {
		ent.dirty = true
	}
	e.metaDirty = true
	e.sup.markAll()
	for _, t := range e.prev {
		t.dirty = true
	}
}

// Restore loads the global state (meta, prevalence) with get and, when walk
// is given, the open suppression windows and stored entities up to
// max_entities. Without walk, entities are read when first seen and
// suppression windows start empty.
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
	if err := e.restoreLegacySuppression(get); err != nil {
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
		if k, ok := strings.CutPrefix(key, KeyPrefixSuppression); ok {
			e.restoreSuppressionWindow(k, value)
			return nil
		}
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

func (e *Engine) restoreSuppressionWindow(key string, value []byte) {
	var en supEntry
	if json.Unmarshal(value, &en) != nil {
		e.logger.Warn("access_anomaly: dropping an unreadable suppression window")
		return
	}
	e.sup.open(key, &en)
}
