// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"fmt"
	"strings"
	"time"
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
	IDs     []string `json:"i,omitempty"`
	Finding *Finding `json:"g,omitempty"`
}

type suppressor struct {
	m   map[string]*supEntry
	max int
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
				if len(en.IDs) >= e.cfg.MaxEventIDs {
					break
				}
				if !containsString(en.IDs, id) {
					en.IDs = append(en.IDs, id)
				}
			}
			s.touch(f.DedupKey)
			return false, nil
		}
		rollup = en.rollup()
		delete(s.m, f.DedupKey)
	}
	if len(s.m) >= s.max {
		s.dropOldest()
	}
	s.m[f.DedupKey] = &supEntry{
		Rule: r.rule.ID, Expires: f.EventTime + int64(r.suppressWin),
		First: f.FirstEventTime, Last: f.LastEventTime, Count: 1,
		IDs: append([]string(nil), f.EventIDs...), Finding: f,
	}
	s.touch(f.DedupKey)
	return true, rollup
}

func (en *supEntry) rollup() *Finding {
	if en.Count <= 1 || en.Finding == nil {
		return nil
	}
	f := *en.Finding
	f.Count = en.Count
	f.FirstEventTime = en.First
	f.LastEventTime = en.Last
	f.EventIDs = append([]string(nil), en.IDs...)
	f.Rollup = true
	f.HasRef = false
	f.EventTime = en.Last
	span := time.Duration(en.Last - en.First).Truncate(time.Minute)
	f.Body = fmt.Sprintf("%s (%d occurrences in %s)", en.Finding.Body, en.Count, fmtDuration(span))
	return &f
}

func (s *suppressor) sweep(e *Engine, watermark int64, out *[]*Finding) {
	for k, en := range s.m {
		if en.Expires > watermark {
			continue
		}
		if f := en.rollup(); f != nil {
			e.obs.Finding(f)
			*out = append(*out, f)
		}
		delete(s.m, k)
		s.touch(k)
	}
}

func (s *suppressor) dropOldest() {
	var oldestKey string
	var oldest int64
	for k, en := range s.m {
		if oldestKey == "" || en.Expires < oldest {
			oldestKey, oldest = k, en.Expires
		}
	}
	delete(s.m, oldestKey)
	s.touch(oldestKey)
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
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
