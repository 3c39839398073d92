// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lruKeys(l *lru) []string {
	var keys []string
	for e := l.front(); e != nil; e = l.after(e) {
		keys = append(keys, e.key)
	}
	return keys
}

func TestLRUOrderAndIDReuse(t *testing.T) {
	var l lru
	assert.Nil(t, l.front())
	assert.Nil(t, l.back())
	ents := map[string]*entity{}
	for _, k := range []string{"a", "b", "c", "d"} {
		ents[k] = &entity{key: k}
		l.pushFront(ents[k])
	}
	assert.Equal(t, []string{"d", "c", "b", "a"}, lruKeys(&l))
	l.touch(ents["b"]) // middle
	l.touch(ents["a"]) // back
	l.touch(ents["a"]) // already at the front
	assert.Equal(t, []string{"a", "b", "d", "c"}, lruKeys(&l))
	assert.Equal(t, "c", l.back().key)

	freed := []int32{ents["d"].lruID, ents["c"].lruID}
	l.remove(ents["d"])
	l.remove(l.back()) // c
	assert.Equal(t, []string{"a", "b"}, lruKeys(&l))
	assert.Equal(t, 2, l.n)
	assert.Zero(t, ents["d"].lruID)

	e := &entity{key: "e"}
	l.pushFront(e)
	assert.Contains(t, freed, e.lruID, "removed ids are reused")
	assert.Len(t, l.links, 5, "no new id while freed ones remain")
	assert.Equal(t, []string{"e", "a", "b"}, lruKeys(&l))

	for l.n > 0 {
		l.remove(l.back())
	}
	assert.Nil(t, l.front())
	assert.Nil(t, l.back())
	l.pushFront(&entity{key: "f"})
	require.NotNil(t, l.front())
	assert.Equal(t, "f", l.back().key)
}

func TestEntityStatesBySlot(t *testing.T) {
	s := &groupSpace{nslots: 3}
	ent := &entity{space: s}
	r2 := &compiledRule{slot: 2, det: newValueDetector{}}
	r0 := &compiledRule{slot: noSlot, det: matchDetector{}}
	st := ent.state(r2)
	require.NotNil(t, st)
	assert.Len(t, ent.states, 3)
	assert.Same(t, st, ent.state(r2), "the state is kept")
	assert.Nil(t, ent.state(r0), "stateless detectors keep nothing")
	assert.Equal(t, 1, countStates(ent))
}

func TestOnlyStatefulRulesHaveSlots(t *testing.T) {
	e := builtinEngine(t)
	seen := map[*groupSpace]map[int]string{}
	stateless := 0
	for _, r := range e.allRules() {
		if r.det.newState() == nil {
			assert.Equal(t, noSlot, r.slot, r.rule.ID)
			stateless++
			continue
		}
		require.GreaterOrEqual(t, r.slot, 0, r.rule.ID)
		require.Less(t, r.slot, r.space.nslots, r.rule.ID)
		if seen[r.space] == nil {
			seen[r.space] = map[int]string{}
		}
		assert.Empty(t, seen[r.space][r.slot], "%s shares a slot", r.rule.ID)
		seen[r.space][r.slot] = r.rule.ID
	}
	assert.Positive(t, stateless, "the built-in pack has match rules")
}
