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
}

// slotState is one rule's state inside an entity; entities hold only the
// rules that have seen them, so an identity that never downloads anything
// carries no download window.
type slotState struct {
	slot  int
	state any
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

	slots []slotState

	prev, next *entity // LRU, most recent at the head
	dirty      bool
	// handoffDirty: changed since the last handoff write (identities only).
	handoffDirty bool
	// handoffUnchecked: not yet compared with the handoff directory since
	// this process created or restored it.
	handoffUnchecked bool
	persisted        int    // bytes of the last stored snapshot
	seenSeq          uint64 // record sequence that last updated the summary
}

func (e *entity) state(r *compiledRule) any {
	for i := range e.slots {
		if e.slots[i].slot == r.slot {
			return e.slots[i].state
		}
	}
	st := r.det.newState()
	if st == nil {
		return nil
	}
	e.slots = append(e.slots, slotState{slot: r.slot, state: st})
	return st
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

// lru is an intrusive doubly linked list across all group spaces, so
// max_entities bounds the whole processor.
type lru struct {
	head, tail *entity
	n          int
}

func (l *lru) pushFront(e *entity) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
	l.n++
}

func (l *lru) remove(e *entity) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
	l.n--
}

func (l *lru) touch(e *entity) {
	if l.head == e {
		return
	}
	l.remove(e)
	l.pushFront(e)
}
