// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

// windowSlots splits a sliding window into fixed sub-buckets: O(1) updates,
// bounded memory, and no tumbling-boundary false negatives.
const windowSlots = 12

type thresholdDetector struct {
	aggregate string
	slot      int64
	limit     float64
	inclusive bool
	maxDist   int
}

func newThresholdDetector(r rules.Rule) thresholdDetector {
	d := thresholdDetector{aggregate: r.Aggregate, slot: int64(r.Window) / windowSlots}
	if d.aggregate == "" {
		d.aggregate = "count"
	}
	if d.slot <= 0 {
		d.slot = 1
	}
	if r.Gte != nil {
		d.limit, d.inclusive = *r.Gte, true
	} else if r.Gt != nil {
		d.limit = *r.Gt
	}
	// A distinct set larger than a few times the threshold adds nothing.
	d.maxDist = int(math.Min(4096, math.Max(64, 4*d.limit)))
	return d
}

type distinctEntry struct {
	H uint64 `json:"h"`
	T int64  `json:"t"`
}

type thresholdState struct {
	Cur      int64                `json:"c"`
	Vals     [windowSlots]float64 `json:"v"`
	First    [windowSlots]int64   `json:"f"`
	Distinct []distinctEntry      `json:"d,omitempty"`
	IDs      eventIDs             `json:"i,omitempty"`
}

func (thresholdDetector) newState() any { return &thresholdState{} }

func (d thresholdDetector) observe(c *evalCtx, r *compiledRule, _ *entity, st any) *hit {
	s := st.(*thresholdState)
	if c.ev.late {
		return nil
	}
	if s.IDs.contains(c.ev.eventID) {
		// The same event again: a batch a receiver emits a second time after a crash (it
		// was processed, its checkpoint not yet written), or a duplicate line of a
		// delivery file. Near the threshold, where the ring is kept, counting it twice
		// would raise a finding the events do not support.
		return nil
	}
	t := c.ev.time
	slot := t / d.slot
	switch {
	case s.Cur == 0:
		s.Cur = slot
	case slot > s.Cur:
		if slot-s.Cur >= windowSlots {
			s.Vals, s.First = [windowSlots]float64{}, [windowSlots]int64{}
		} else {
			for i := s.Cur + 1; i <= slot; i++ {
				s.Vals[i%windowSlots], s.First[i%windowSlots] = 0, 0
			}
		}
		s.Cur = slot
	case slot <= s.Cur-windowSlots:
		return nil // older than the window
	}
	i := slot % windowSlots
	if s.First[i] == 0 || t < s.First[i] {
		s.First[i] = t
	}
	var agg float64
	window := time.Duration(d.slot * windowSlots)
	switch d.aggregate {
	case "count":
		s.Vals[i]++
		agg = sum(s.Vals[:])
	case "sum":
		v, ok := r.value.str(c)
		if !ok {
			return nil
		}
		f, err := parseFloat(v)
		if err != nil {
			c.evalError(fmt.Errorf("rule %s: value %q is not a number", r.rule.ID, v))
			return nil
		}
		s.Vals[i] += f
		agg = sum(s.Vals[:])
	case "distinct":
		h, ok := r.value.hash(c)
		if !ok {
			return nil
		}
		s.Vals[i]++
		s.Distinct = addDistinct(s.Distinct, h, t, t-int64(window), d.maxDist)
		agg = float64(len(s.Distinct))
	}
	if d.aggregate != "sum" && agg <= d.limit-float64(c.e.cfg.MaxEventIDs) {
		// Far below the threshold the window keeps no event ids: they would be the
		// evidence of a finding only once the count climbs to within max_event_ids of
		// the threshold, and an id ring per identity and rule was most of the
		// processor's memory growth in its first hour under steady load (10 ids × 64 B
		// × 10,000 identities × every threshold rule they touch). Counts and distinct
		// values rise by one per event, so the ring still holds the last max_event_ids
		// events when the threshold is crossed.
		s.IDs = nil
	} else {
		s.IDs = s.IDs.push(c.ev.eventID, c.e.cfg.MaxEventIDs)
	}
	if agg < d.limit || (!d.inclusive && agg == d.limit) {
		return nil
	}
	first := t
	for j := range s.First {
		if s.First[j] != 0 && s.First[j] < first {
			first = s.First[j]
		}
	}
	op := ">="
	if !d.inclusive {
		op = ">"
	}
	what := "events matching the rule"
	switch d.aggregate {
	case "distinct":
		what = "distinct " + r.valueLabel
	case "sum":
		what = "total " + r.valueLabel
	}
	span := time.Duration(t - first).Truncate(time.Minute)
	reason := fmt.Sprintf("%s %s in %s (threshold %s %s in %s)", fmtNum(agg), what, fmtDuration(span), op, fmtNum(d.limit), fmtDuration(window))
	if c.ev.address != "" {
		reason += " from " + c.ev.address
	}
	return &hit{
		reason: reason, value: agg, limit: d.limit,
		baseline: []KV{{"threshold", d.limit}, {"window", fmtDuration(window)}, {"aggregate", d.aggregate}, {"observed", agg}},
		first:    first, last: t, eventIDs: s.IDs.strings(),
	}
}

func addDistinct(set []distinctEntry, h uint64, t, cutoff int64, maxN int) []distinctEntry {
	found := false
	out := set[:0]
	for _, e := range set {
		if e.H == h {
			e.T = max(e.T, t)
			found = true
		}
		if e.T >= cutoff {
			out = append(out, e)
		}
	}
	if !found {
		if len(out) >= maxN {
			oldest := 0
			for j := range out {
				if out[j].T < out[oldest].T {
					oldest = j
				}
			}
			out = append(out[:oldest], out[oldest+1:]...)
		}
		out = append(out, distinctEntry{H: h, T: t})
	}
	return out
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}

// sequenceDetector fires when min_count events of each step occurred in step
// order within `within` (e.g. 5 failed logins, then a success).
type sequenceDetector struct{}

type sequenceState struct {
	Steps [][]int64 `json:"s"`
	IDs   eventIDs  `json:"i,omitempty"`
}

func (sequenceDetector) newState() any { return &sequenceState{} }

func (sequenceDetector) observe(c *evalCtx, r *compiledRule, _ *entity, st any) *hit {
	s := st.(*sequenceState)
	if c.ev.late {
		return nil
	}
	steps := r.rule.Steps
	if len(s.Steps) != len(steps) {
		s.Steps = make([][]int64, len(steps))
	}
	t := c.ev.time
	within := int64(r.rule.Within)
	matched := false
	last := len(steps) - 1
	for i := range steps {
		if !c.cond(r.steps[i]) {
			continue
		}
		matched = true
		s.Steps[i] = pushTime(s.Steps[i], t, t-within, max(1, steps[i].MinCount))
	}
	if !matched {
		return nil
	}
	s.IDs = s.IDs.push(c.ev.eventID, c.e.cfg.MaxEventIDs)
	if !c.cond(r.steps[last]) {
		return nil
	}
	bound := t
	first := t
	counts := make([]int, len(steps))
	for i := last; i >= 0; i-- {
		need := max(1, steps[i].MinCount)
		var used []int64
		for j := len(s.Steps[i]) - 1; j >= 0 && len(used) < need; j-- {
			ts := s.Steps[i][j]
			if ts <= bound && ts >= t-within {
				used = append(used, ts)
			}
		}
		if len(used) < need {
			return nil
		}
		counts[i] = len(used)
		bound = used[len(used)-1]
		first = bound
	}
	ids := s.IDs.strings()
	s.Steps = make([][]int64, len(steps))
	s.IDs = nil
	reason := fmt.Sprintf("%d-step sequence completed within %s (steps: %v)", len(steps), fmtDuration(time.Duration(t-first).Truncate(time.Second)), counts)
	if c.ev.address != "" {
		reason += " from " + c.ev.address
	}
	return &hit{
		reason: reason, value: float64(len(steps)), limit: float64(len(steps)),
		baseline: []KV{{"within", fmtDuration(r.rule.Within)}, {"step_counts", fmt.Sprint(counts)}},
		first:    first, last: t, eventIDs: ids,
	}
}

func pushTime(ts []int64, t, cutoff int64, keep int) []int64 {
	out := ts[:0]
	for _, x := range ts {
		if x >= cutoff {
			out = append(out, x)
		}
	}
	out = append(out, t)
	slices.Sort(out)
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	return out
}

// spikeDetector compares a per-bucket metric with the entity's own EWMA
// baseline (hour-of-week when mature). Only non-anomalous buckets update the
// baseline, so an ongoing incident does not teach itself as normal.
type spikeDetector struct{}

type spikeState struct {
	Cur      int64     `json:"c"`
	Count    float64   `json:"n"`
	Fired    bool      `json:"x,omitempty"`
	Distinct []uint64  `json:"d,omitempty"`
	First    int64     `json:"ft,omitempty"`
	Buckets  int       `json:"b"`
	Mean     float64   `json:"m"`
	Var      float64   `json:"s"`
	Max      float64   `json:"mx"`
	Start    int64     `json:"st"`
	HOW      []float32 `json:"h,omitempty"`
}

const maxBucketDistinct = 1024

func (spikeDetector) newState() any { return &spikeState{} }

func (spikeDetector) observe(c *evalCtx, r *compiledRule, ent *entity, st any) *hit {
	s := st.(*spikeState)
	if c.ev.late {
		return nil
	}
	rule := &r.rule
	bucket := int64(rule.Bucket)
	t := c.ev.time
	b := t / bucket
	if s.Start == 0 {
		s.Start = b * bucket
	}
	switch {
	case s.Cur == 0:
		s.Cur = b
	case b > s.Cur:
		s.close(c, rule, bucket)
		s.Cur, s.Count, s.Fired, s.Distinct, s.First = b, 0, false, s.Distinct[:0], 0
	case b < s.Cur:
		return nil // an earlier bucket is closed
	}
	if s.First == 0 {
		s.First = t
	}
	if rule.Metric == "distinct" {
		h, ok := r.value.hash(c)
		if !ok {
			return nil
		}
		if !containsU64(s.Distinct, h) {
			if len(s.Distinct) < maxBucketDistinct {
				s.Distinct = append(s.Distinct, h)
			}
			s.Count++
		}
	} else {
		s.Count++
	}
	if s.Fired || !c.learned(r, ent) {
		return nil
	}
	mean, sd := s.expected(c, rule, b*bucket)
	var why string
	switch {
	case s.Buckets < rule.MinActiveBuckets:
		if rule.ColdStartFloor > 0 && s.Count >= rule.ColdStartFloor {
			why = fmt.Sprintf("cold start: %s >= %s", fmtNum(s.Count), fmtNum(rule.ColdStartFloor))
		}
	case s.Count < rule.Floor:
	case sd > 0 && rule.Z > 0 && (s.Count-mean)/sd >= rule.Z:
		why = fmt.Sprintf("z-score %.1f >= %s", (s.Count-mean)/sd, fmtNum(rule.Z))
	case sd < 1e-9 && rule.RatioWhenFlat > 0 && s.Count > rule.RatioWhenFlat*mean:
		why = fmt.Sprintf("%.1fx the flat baseline", s.Count/math.Max(mean, 1e-9))
	case rule.MaxMultiplier > 0 && s.Max > 0 && s.Count > rule.MaxMultiplier*s.Max:
		why = fmt.Sprintf("%.1fx the historical maximum", s.Count/s.Max)
	}
	if why == "" {
		return nil
	}
	s.Fired = true
	metric := "events"
	if rule.Metric == "distinct" {
		metric = "distinct " + r.valueLabel
	}
	limit := math.Max(rule.Floor, mean+rule.Z*sd)
	return &hit{
		reason: fmt.Sprintf("%s %s in %s vs baseline mean %.1f (sd %.1f): %s", fmtNum(s.Count), metric, fmtDuration(rule.Bucket), mean, sd, why),
		value:  s.Count, limit: limit,
		baseline: []KV{{"mean", round2(mean)}, {"stddev", round2(sd)}, {"max", s.Max}, {"active_buckets", int64(s.Buckets)},
			{"bucket", fmtDuration(rule.Bucket)}, {"observed", s.Count}},
		first: s.First, last: t,
	}
}

// expected returns the baseline mean and standard deviation for the bucket
// starting at bucketStart: the hour-of-week mean once four weeks are known.
func (s *spikeState) expected(c *evalCtx, rule *rules.Rule, bucketStart int64) (float64, float64) {
	mean, sd := s.Mean, math.Sqrt(s.Var)
	if rule.Baseline == "hour_of_week" && len(s.HOW) == 168 && bucketStart-s.Start >= int64(4*7*24*time.Hour) {
		if m := float64(s.HOW[c.e.hourOfWeek(bucketStart)]); m > 0 {
			mean = m
		}
	}
	return mean, sd
}

func (s *spikeState) close(c *evalCtx, rule *rules.Rule, bucket int64) {
	if s.Count <= 0 || s.Fired {
		return
	}
	s.Buckets++
	alpha := math.Max(1/float64(s.Buckets), 0.05)
	diff := s.Count - s.Mean
	s.Mean += alpha * diff
	s.Var = (1 - alpha) * (s.Var + alpha*diff*diff)
	s.Max = math.Max(s.Max*0.999, s.Count)
	if rule.Baseline == "hour_of_week" {
		if len(s.HOW) != 168 {
			s.HOW = make([]float32, 168)
		}
		h := c.e.hourOfWeek(s.Cur * bucket)
		if s.HOW[h] == 0 {
			s.HOW[h] = float32(s.Count)
		} else {
			s.HOW[h] += float32(0.25 * (s.Count - float64(s.HOW[h])))
		}
	}
}

func containsU64(s []uint64, h uint64) bool {
	for _, x := range s {
		if x == h {
			return true
		}
	}
	return false
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(strings.TrimSpace(s), 64) }
