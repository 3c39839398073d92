// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// maxTrackedGroups caps the group table. Groups expire after
// repeat_interval, so the cap is only reached by a flood of distinct groups;
// findings of groups that do not fit are sent without suppression rather
// than dropped.
const maxTrackedGroups = 100_000

// groupKey joins the values of the group_by attributes. The unit separator
// cannot appear in e-mail addresses or rule ids, so distinct tuples give
// distinct keys.
func groupKey(values []string) string {
	return strings.Join(values, "\x1f")
}

// groupValues reads the group_by attributes, on the record first and then
// on its resource; a missing attribute contributes an empty value.
func groupValues(groupBy []string, resource pcommon.Resource, lr plog.LogRecord) []string {
	out := make([]string, len(groupBy))
	for i, key := range groupBy {
		if v, ok := lr.Attributes().Get(key); ok {
			out[i] = v.AsString()
		} else if v, ok := resource.Attributes().Get(key); ok {
			out[i] = v.AsString()
		}
	}
	return out
}

// groupDecision is the outcome of offering a finding to the group tracker.
type groupDecision struct {
	// Notify is false when the group was notified within repeat_interval.
	Notify bool
	// Suppressed counts the group's findings held back since its previous
	// notification; the next notification reports them.
	Suppressed int64
	// Untracked is true when the table was full and the finding bypassed
	// suppression.
	Untracked bool
}

type groupState struct {
	notifiedAt time.Time
	suppressed int64
}

// groupTracker implements repeat_interval: a group is notified at most once
// per interval, later findings within it are counted instead of sent.
type groupTracker struct {
	interval time.Duration
	capacity int

	mu        sync.Mutex
	groups    map[string]*groupState
	lastSweep time.Time
}

func newGroupTracker(interval time.Duration, capacity int) *groupTracker {
	return &groupTracker{
		interval: interval,
		capacity: capacity,
		groups:   make(map[string]*groupState),
	}
}

// offer records a finding of group key seen at now and decides whether it
// is notified.
func (g *groupTracker) offer(key string, now time.Time) groupDecision {
	if g.interval <= 0 {
		return groupDecision{Notify: true}
	}
	g.mu.Lock()
	defer g.mu.Unlock()

	// The group itself is looked at before the sweep, so a finding that
	// arrives just as its group expires still reports the held-back count.
	if st, ok := g.groups[key]; ok {
		if now.Sub(st.notifiedAt) < g.interval {
			st.suppressed++
			return groupDecision{Suppressed: st.suppressed}
		}
		held := st.suppressed
		st.notifiedAt, st.suppressed = now, 0
		g.sweepLocked(now, false)
		return groupDecision{Notify: true, Suppressed: held}
	}
	g.sweepLocked(now, false)
	if len(g.groups) >= g.capacity {
		g.sweepLocked(now, true)
		if len(g.groups) >= g.capacity {
			return groupDecision{Notify: true, Untracked: true}
		}
	}
	g.groups[key] = &groupState{notifiedAt: now}
	return groupDecision{Notify: true}
}

// sweepLocked drops groups whose interval is over. A full pass costs one
// map walk, so unforced passes run at most once per interval fraction.
func (g *groupTracker) sweepLocked(now time.Time, force bool) {
	every := min(g.interval, time.Minute)
	if !force && now.Sub(g.lastSweep) < every {
		return
	}
	g.lastSweep = now
	for key, st := range g.groups {
		if now.Sub(st.notifiedAt) >= g.interval {
			delete(g.groups, key)
		}
	}
}

// size is the number of live groups (for tests and diagnostics).
func (g *groupTracker) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.groups)
}
