// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"time"
)

// groupSpace holds the entities of one group_by signature; every rule
// grouped by identity shares one entity per identity.
type groupSpace struct {
	idx      int
	sig      string
	sigHash  string
	getters  []valueGetter
	identity bool
	entities map[string]*entity
	nslots   int
	// last is the entity of the previous lookup: audit records come in
	// bursts from one identity, and a burst then skips the map.
	last *entity
}

// entity is one identity (or other group key) with its activity summary,
// hour-of-week profile and per-rule detector state.
type entity struct {
	space *groupSpace
	key   string

	first, last int64 // event time, unix ns
	events      uint32
	activeDays  uint16
	lastDay     int32
	how         *[168]uint16 // identity entities only

	// states holds each rule's state at the rule's slot, nil until the rule
	// first sees the entity (so an identity that never downloads anything
	// carries no download window): an indexed load on every record instead
	// of a search.
	states []any

	lruID int32 // position in the engine's lru (0 when not in it)
	dirty bool
	// handoffDirty: changed since the last handoff write (identities only).
	handoffDirty bool
	// handoffUnchecked: not yet compared with the handoff directory since
	// this process created or restored it.
	handoffUnchecked bool
	persisted        int    // bytes of the last stored snapshot
	seenSeq          uint64 // record sequence that last updated the summary
}

// noSlot is the slot of a rule whose detector keeps no state.
const noSlot = -1

func (e *entity) state(r *compiledRule) any {
	if r.slot == noSlot {
		return nil
	}
	if r.slot < len(e.states) {
		if st := e.states[r.slot]; st != nil {
			return st
		}
	}
	st := r.det.newState()
	if st == nil {
		return nil
	}
	e.setState(r.slot, st)
	return st
}

func (e *entity) setState(slot int, st any) {
	if slot >= len(e.states) {
		states := make([]any, max(e.space.nslots, slot+1))
		copy(states, e.states)
		e.states = states
	}
	e.states[slot] = st
}

// recordActivity updates the summary every behavioural gate reads.
func (e *entity) recordActivity(t int64, how int) {
	if e.first == 0 || t < e.first {
		e.first = t
	}
	if t > e.last {
		e.last = t
	}
	if e.events < ^uint32(0) {
		e.events++
	}
	day := int32(t / int64(24*time.Hour))
	if day > e.lastDay {
		e.lastDay = day
		if e.activeDays < ^uint16(0) {
			e.activeDays++
		}
	}
	if how >= 0 && e.space.identity {
		if e.how == nil {
			e.how = new([168]uint16)
		}
		if e.how[how] == ^uint16(0) {
			// Halve the profile instead of saturating, which keeps the shape.
			for i := range e.how {
				e.how[i] /= 2
			}
		}
		e.how[how]++
	}
}

func (e *entity) howTotal() int {
	if e.how == nil {
		return 0
	}
	n := 0
	for _, v := range e.how {
		n += int(v)
	}
	return n
}

// lru orders the entities of all group spaces by last use (most recent at
// the front), so max_entities bounds the whole processor. The links live in
// one dense array indexed by entity id rather than in the entities: moving
// an entity to the front rewrites its neighbours' links, and with 100,000
// identities neighbours scattered over the heap cost a cache miss each.
// Id 0 means none, so the zero value is an empty list.
type lru struct {
	links      []lruLink // by id; links[0] unused
	ents       []*entity // by id
	free       []int32   // ids of removed entities, reused first
	head, tail int32
	n          int
}

type lruLink struct{ prev, next int32 }

func (l *lru) front() *entity {
	if l.head == 0 {
		return nil
	}
	return l.ents[l.head]
}

func (l *lru) back() *entity {
	if l.tail == 0 {
		return nil
	}
	return l.ents[l.tail]
}

// after returns the entity used just before e, nil at the back.
func (l *lru) after(e *entity) *entity { return l.ents[l.links[e.lruID].next] }

func (l *lru) pushFront(e *entity) {
	if len(l.links) == 0 {
		l.links, l.ents = make([]lruLink, 1, 1024), make([]*entity, 1, 1024)
	}
	var id int32
	if n := len(l.free); n > 0 {
		id = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		id = int32(len(l.links))
		l.links = append(l.links, lruLink{})
		l.ents = append(l.ents, nil)
	}
	e.lruID = id
	l.ents[id] = e
	l.link(id)
	l.n++
}

func (l *lru) remove(e *entity) {
	id := e.lruID
	l.unlink(id)
	l.ents[id] = nil
	l.free = append(l.free, id)
	e.lruID = 0
	l.n--
}

func (l *lru) touch(e *entity) {
	if id := e.lruID; id != l.head {
		l.unlink(id)
		l.link(id)
	}
}

// link puts id at the front.
func (l *lru) link(id int32) {
	l.links[id] = lruLink{next: l.head}
	if l.head != 0 {
		l.links[l.head].prev = id
	}
	l.head = id
	if l.tail == 0 {
		l.tail = id
	}
}

func (l *lru) unlink(id int32) {
	k := l.links[id]
	if k.prev != 0 {
		l.links[k.prev].next = k.next
	} else {
		l.head = k.next
	}
	if k.next != 0 {
		l.links[k.next].prev = k.prev
	} else {
		l.tail = k.prev
	}
}
