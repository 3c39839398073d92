// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// supEntry is one open suppression window. The first finding is emitted at
// once (alerts must not wait an hour); repeats inside the window are folded
// and, when the window closes, one roll-up carries the final alert.count.
type supEntry struct {
	Rule    string   `json:"r"`
	Expires int64    `json:"x"`
	First   int64    `json:"f"`
	Last    int64    `json:"l"`
	Count   int      `json:"n"`
	IDs     eventIDs `json:"i,omitempty"`
	// Finding is the first finding in the form of windowFinding; it reads
	// back as a Finding (older versions stored the whole Finding here).
	Finding json.RawMessage `json:"g,omitempty"`
}

// windowFinding is what a window keeps of its first finding for the
// roll-up: the fields that differ between findings of one rule, JSON-encoded
// under the Finding's own names. The rule's constants, the body (made of
// them) and what the window itself counts are filled in again at the
// roll-up. A Finding with its context map and boxed values took 2.1 KB of
// heap per window, and the windows of the built-in pack's 24 h rules stay
// open for a day, thousands at once in a busy workspace (the reliability
// soak's grew by 5,000 in 80 minutes).
type windowFinding struct {
	Severity string         `json:"severity"`
	Score    float64        `json:"score"`
	Reason   string         `json:"reason"`
	Baseline []KV           `json:"baseline,omitempty"`
	Entity   string         `json:"entity"`
	Identity string         `json:"identity,omitempty"`
	Context  map[string]any `json:"context,omitempty"`
}

// encodeWindowFinding is f as its window keeps it.
func encodeWindowFinding(e *Engine, f *Finding) json.RawMessage {
	b, err := json.Marshal(windowFinding{
		Severity: f.Severity, Score: f.Score, Reason: f.Reason, Entity: f.Entity, Identity: f.Identity,
		Baseline: typedBaseline(f.Baseline), Context: typedContext(f.Context),
	})
	if err != nil {
		// Context values come from pdata and always encode; should one not, the
		// window still counts its repeats, and only its roll-up is lost.
		e.logger.Warn("access_anomaly: cannot keep a finding for its roll-up", zap.Error(err))
		return nil
	}
	return b
}

type suppressor struct {
	m   map[string]*supEntry
	max int
	// byExpiry orders the open windows by expiry so that the one dropped at
	// the cap is found in O(log n), not by scanning every window for every
	// new one (a flood of distinct dedup keys at the cap would otherwise make
	// each finding cost a full scan). Closed windows leave stale items, skipped
	// when popped and cleared when they outnumber the open ones.
	byExpiry expiryHeap
	// dirty holds the keys of the windows opened, changed or closed since
	// the last snapshot; each is stored under its own key (see
	// KeyPrefixSuppression).
	dirty map[string]struct{}
	// legacyKeys are keys of earlier layouts read at restore (one key for all
	// windows, then 64 shards); the next snapshot writes their windows one
	// per key and deletes them.
	legacyKeys []string
}

func (s *suppressor) touch(key string) {
	if s.dirty == nil {
		s.dirty = map[string]struct{}{}
	}
	s.dirty[key] = struct{}{}
}

func (s *suppressor) markAll() {
	for k := range s.m {
		s.touch(k)
	}
}

// dedupKey is "<rule>|<group key>|<suppress.key values>"; "rule" and
// "group_by" in suppress.key stand for the rule id and the group key.
func dedupKey(r *compiledRule, c *evalCtx, f *Finding) string {
	if len(r.suppressKey) == 0 && r.suppressByGroup {
		return r.rule.ID + "|" + f.Entity
	}
	var b strings.Builder
	b.WriteString(r.rule.ID)
	if r.suppressByGroup {
		b.WriteByte('|')
		b.WriteString(f.Entity)
	}
	for _, g := range r.suppressKey {
		v, _ := g.str(c)
		b.WriteByte('|')
		b.WriteString(v)
	}
	return b.String()
}

// admit decides whether f is emitted; it may also return the roll-up of an
// expired window for the same key that the periodic sweep has not closed yet.
func (s *suppressor) admit(e *Engine, r *compiledRule, c *evalCtx, f *Finding) (bool, *Finding) {
	f.DedupKey = dedupKey(r, c, f)
	if r.suppressWin <= 0 {
		return true, nil
	}
	var rollup *Finding
	if en := s.m[f.DedupKey]; en != nil {
		if f.EventTime < en.Expires {
			en.Count++
			en.First = min(en.First, f.FirstEventTime)
			en.Last = max(en.Last, f.LastEventTime)
			for _, id := range f.EventIDs {
				en.IDs = en.IDs.add(id, e.cfg.MaxEventIDs)
			}
			s.touch(f.DedupKey)
			return false, nil
		}
		rollup = e.rollup(f.DedupKey, en)
		delete(s.m, f.DedupKey)
	}
	if len(s.m) >= s.max {
		s.dropOldest()
	}
	s.open(f.DedupKey, &supEntry{
		Rule: r.rule.ID, Expires: f.EventTime + int64(r.suppressWin),
		First: f.FirstEventTime, Last: f.LastEventTime, Count: 1,
		IDs: packEventIDs(f.EventIDs), Finding: encodeWindowFinding(e, f),
	})
	s.touch(f.DedupKey)
	return true, rollup
}

// open adds a window (a new one, or one read back from storage).
func (s *suppressor) open(key string, en *supEntry) {
	s.m[key] = en
	heap.Push(&s.byExpiry, expiryItem{expires: en.Expires, key: key})
	if len(s.byExpiry) > 2*len(s.m)+1024 {
		s.byExpiry = s.byExpiry[:0]
		for k, en := range s.m {
			s.byExpiry = append(s.byExpiry, expiryItem{expires: en.Expires, key: k})
		}
		heap.Init(&s.byExpiry)
	}
}

// rollup is the summary of a window with repeats: its first finding with
// the window's counts. It is nil when there were no repeats, or when the
// first finding cannot be read back (a stored window of a rule no longer
// configured, or unreadable).
func (e *Engine) rollup(key string, en *supEntry) *Finding {
	if en.Count <= 1 || len(en.Finding) == 0 || bytes.Equal(en.Finding, []byte("null")) {
		return nil
	}
	r := e.ruleByID(en.Rule)
	var f Finding
	if r == nil || json.Unmarshal(en.Finding, &f) != nil {
		return nil
	}
	r.describe(&f)
	f.DedupKey = key
	firstBody := f.Body
	if firstBody == "" {
		firstBody = findingBody(r, f.Identity, f.Entity, f.Reason)
	}
	f.Count = en.Count
	f.FirstEventTime = en.First
	f.LastEventTime = en.Last
	f.EventIDs = en.IDs.strings()
	f.Rollup = true
	f.HasRef = false
	f.EventTime = en.Last
	span := time.Duration(en.Last - en.First).Truncate(time.Minute)
	f.Body = fmt.Sprintf("%s (%d occurrences in %s)", firstBody, en.Count, fmtDuration(span))
	return &f
}

func (s *suppressor) sweep(e *Engine, watermark int64, out *[]*Finding) {
	for k, en := range s.m {
		if en.Expires > watermark {
			continue
		}
		if f := e.rollup(k, en); f != nil {
			e.obs.Finding(f)
			*out = append(*out, f)
		}
		delete(s.m, k)
		s.touch(k)
	}
}

// dropOldest closes the window that expires first, without a roll-up.
func (s *suppressor) dropOldest() {
	for len(s.byExpiry) > 0 {
		it := heap.Pop(&s.byExpiry).(expiryItem)
		if en := s.m[it.key]; en == nil || en.Expires != it.expires {
			continue // closed already, or reopened (it has an item of its own)
		}
		delete(s.m, it.key)
		s.touch(it.key)
		return
	}
}

// expiryItem names a window rather than pointing at it, so that a closed
// window's finding is freed before its item is popped.
type expiryItem struct {
	expires int64
	key     string
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = expiryItem{}
	*h = old[:len(old)-1]
	return it
}

// prevalenceTable counts, per value, the entities that used it recently, to
// suppress first-seen findings for values common across the organisation.
type prevalenceTable struct {
	M     map[uint64]*prevEntry `json:"m"`
	dirty bool
}

type prevEntry struct {
	E []uint64 `json:"e"`
	T int64    `json:"t"`
}

const maxPrevalenceValues = 65536

func (e *Engine) prevalence(r *compiledRule, h uint64, ent *entity, t int64) int {
	gp := r.rule.GlobalPrevalence
	if gp.MinEntities <= 0 {
		return 0
	}
	tbl := e.prev[r.stateKey]
	if tbl == nil {
		tbl = &prevalenceTable{M: map[uint64]*prevEntry{}}
		e.prev[r.stateKey] = tbl
	}
	pe := tbl.M[h]
	if pe == nil {
		if len(tbl.M) >= maxPrevalenceValues {
			return 0
		}
		pe = &prevEntry{}
		tbl.M[h] = pe
	}
	if gp.Window > 0 && t-pe.T > int64(gp.Window) {
		pe.E = pe.E[:0]
	}
	me := hashOf(ent.key)
	others, mine := 0, false
	for _, x := range pe.E {
		if x == me {
			mine = true
		} else {
			others++
		}
	}
	if !mine && len(pe.E) <= gp.MinEntities {
		pe.E = append(pe.E, me)
	}
	pe.T = max(pe.T, t)
	tbl.dirty = true
	return others
}

func (p *prevalenceTable) prune(cutoff int64) {
	for h, pe := range p.M {
		if pe.T < cutoff {
			delete(p.M, h)
			p.dirty = true
		}
	}
}
