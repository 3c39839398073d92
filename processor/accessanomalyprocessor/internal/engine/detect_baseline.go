// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// valueEntry is one known value: hash, last seen (unix s) and count; 16
// bytes, so a capped set of 64 networks costs 1 KiB.
type valueEntry struct {
	H uint64
	L uint32
	N uint32
}

// valueSet is sorted by hash; its JSON form is base64 of the packed entries
// to keep stored state small.
type valueSet struct {
	V     []valueEntry
	Total uint32
	// inline backs V while it holds at most two values (most identities use
	// one or two networks and client families): the set and its values then
	// share one cache line, which saves a memory access per lookup.
	inline [2]valueEntry
}

// find returns the index of h, or where it would be inserted (sort.Search
// written out: this runs for every record of every value rule).
func (s *valueSet) find(h uint64) (int, bool) {
	v := s.V
	lo, hi := 0, len(v)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v[m].H < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(v) && v[lo].H == h
}

// upsert records h at t; when the set is full the least recently seen
// value is dropped, which is what forget_after would do first anyway.
func (s *valueSet) upsert(h uint64, t int64, maxValues int) {
	i, ok := s.find(h)
	s.upsertAt(i, ok, h, t, maxValues)
}

// upsertAt is upsert for a caller that has just searched for h: i and ok
// are what find(h) returned on the unchanged set.
func (s *valueSet) upsertAt(i int, ok bool, h uint64, t int64, maxValues int) {
	sec := uint32(t / int64(time.Second))
	if s.Total < ^uint32(0) {
		s.Total++
	}
	if ok {
		if sec > s.V[i].L {
			s.V[i].L = sec
		}
		if s.V[i].N < ^uint32(0) {
			s.V[i].N++
		}
		return
	}
	if maxValues > 0 && len(s.V) >= maxValues {
		oldest := 0
		for j := range s.V {
			if s.V[j].L < s.V[oldest].L {
				oldest = j
			}
		}
		s.Total -= min(s.Total, s.V[oldest].N)
		s.V = append(s.V[:oldest], s.V[oldest+1:]...)
		i, _ = s.find(h)
	}
	if cap(s.V) == 0 {
		s.V = s.inline[:0]
	}
	s.V = append(s.V, valueEntry{})
	copy(s.V[i+1:], s.V[i:])
	s.V[i] = valueEntry{H: h, L: sec, N: 1}
}

func (s *valueSet) forget(cutoff int64) {
	if cutoff <= 0 {
		return
	}
	sec := uint32(max(0, cutoff/int64(time.Second)))
	out := s.V[:0]
	for _, e := range s.V {
		if e.L >= sec {
			out = append(out, e)
		} else {
			s.Total -= min(s.Total, e.N)
		}
	}
	s.V = out
}

type valueSetJSON struct {
	V string `json:"v"`
	T uint32 `json:"t"`
}

// MarshalJSON writes what json.Marshal(valueSetJSON{...}) would.
func (s valueSet) MarshalJSON() ([]byte, error) {
	enc := base64.RawStdEncoding
	return s.appendJSON(make([]byte, 0, len(`{"v":"","t":}`)+enc.EncodedLen(16*len(s.V))+10))
}

// appendJSON appends what json.Marshal(valueSetJSON{...}) would, without the
// intermediate string: the base64 alphabet needs no escaping in a JSON
// string. Every changed identity's value sets are written at every flush.
func (s *valueSet) appendJSON(out []byte) ([]byte, error) {
	var raw [16 * 3]byte
	enc := base64.RawStdEncoding
	out = append(out, `{"v":"`...)
	// Encoded in chunks of three entries: 48 bytes, a multiple of base64's
	// 3-byte groups, so the chunks' encodings join into the whole's.
	chunk := raw[:0]
	for _, e := range s.V {
		chunk = binary.LittleEndian.AppendUint64(chunk, e.H)
		chunk = binary.LittleEndian.AppendUint32(chunk, e.L)
		chunk = binary.LittleEndian.AppendUint32(chunk, e.N)
		if len(chunk) == len(raw) {
			out = enc.AppendEncode(out, chunk)
			chunk = raw[:0]
		}
	}
	out = enc.AppendEncode(out, chunk)
	out = append(out, `","t":`...)
	out = strconv.AppendUint(out, uint64(s.Total), 10)
	return append(out, '}'), nil
}

func (s *valueSet) UnmarshalJSON(b []byte) error {
	var j valueSetJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	buf, err := base64.RawStdEncoding.DecodeString(j.V)
	if err != nil || len(buf)%16 != 0 {
		return fmt.Errorf("bad value set encoding")
	}
	s.V = make([]valueEntry, len(buf)/16)
	for i := range s.V {
		s.V[i] = valueEntry{
			H: binary.LittleEndian.Uint64(buf[16*i:]),
			L: binary.LittleEndian.Uint32(buf[16*i+8:]),
			N: binary.LittleEndian.Uint32(buf[16*i+12:]),
		}
	}
	sort.Slice(s.V, func(i, k int) bool { return s.V[i].H < s.V[k].H })
	s.Total = j.T
	return nil
}

// newValueDetector fires on a value the entity has not used within
// forget_after, once learned, unless many other entities already use it.
type newValueDetector struct{}

func (newValueDetector) newState() any { return &valueSet{} }

func (newValueDetector) observe(c *evalCtx, r *compiledRule, ent *entity, st any) *hit {
	s := st.(*valueSet)
	h, ok := r.value.hash(c)
	if !ok {
		return nil
	}
	t := c.ev.time
	rule := &r.rule
	i, present := s.find(h)
	known := present
	if known && rule.ForgetAfter > 0 && t-int64(s.V[i].L)*int64(time.Second) > int64(rule.ForgetAfter) {
		known = false // forgotten; pruned with the rest below
	}
	if !known && rule.ForgetAfter > 0 {
		s.forget(t - int64(rule.ForgetAfter))
		i, present = s.find(h)
	}
	// Organisation prevalence is refreshed on first use and periodically
	// after, which keeps a shared value alive without a lookup per event.
	others := 0
	if !known || s.V[i].N%32 == 0 {
		others = c.e.prevalence(r, h, ent, t)
	}
	learned := c.learned(r, ent)
	s.upsertAt(i, present, h, t, maxOr(rule.MaxValues, 256))
	if known || !learned {
		return nil
	}
	if rule.GlobalPrevalence.MinEntities > 0 && others >= rule.GlobalPrevalence.MinEntities {
		return nil
	}
	v, _ := r.value.str(c)
	return &hit{
		reason: fmt.Sprintf("first use of %s %s in %s", r.valueLabel, v, fmtDuration(rule.ForgetAfter)),
		value:  1, limit: 1,
		baseline: []KV{
			{"values_known", int64(len(s.V) - 1)},
			{"first_seen", fmtTime(ent.first)},
			{"active_days", int64(ent.activeDays)},
			{"other_entities", int64(others)},
			{"value", v},
		},
		first: t, last: t,
	}
}

func maxOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// rareDetector fires when a value is unseen, or below max_share of the
// entity's history, once the history is large enough.
type rareDetector struct{}

func (rareDetector) newState() any { return &valueSet{} }

func (rareDetector) observe(c *evalCtx, r *compiledRule, ent *entity, st any) *hit {
	s := st.(*valueSet)
	h, ok := r.value.hash(c)
	if !ok {
		return nil
	}
	t := c.ev.time
	rule := &r.rule
	if rule.ForgetAfter > 0 && s.Total%64 == 0 {
		s.forget(t - int64(rule.ForgetAfter))
	}
	i, known := s.find(h)
	var n uint32
	if known {
		n = s.V[i].N
	}
	total := s.Total
	learned := c.learned(r, ent) && int(total) >= rule.MinHistoryEvents
	s.upsertAt(i, known, h, t, maxOr(rule.MaxValues, 256))
	if !learned {
		return nil
	}
	share := float64(n) / math.Max(float64(total), 1)
	if known && share >= rule.MaxShare {
		return nil
	}
	v, _ := r.value.str(c)
	reason := fmt.Sprintf("%s %s never seen before in %d events", r.valueLabel, v, total)
	if known {
		reason = fmt.Sprintf("%s %s is %d of %d events (%.3f%%, below %.3f%%)", r.valueLabel, v, n, total, 100*share, 100*rule.MaxShare)
	}
	return &hit{
		reason: reason, value: 1, limit: 1,
		baseline: []KV{{"history_events", int64(total)}, {"value_count", int64(n)}, {"share", share},
			{"values_known", int64(len(s.V))}, {"active_days", int64(ent.activeDays)}, {"value", v}},
		first: t, last: t,
	}
}

// timeProfileDetector fires on activity in an hour-of-week the identity
// rarely uses; until the profile is mature it falls back to business hours.
type timeProfileDetector struct{}

func (timeProfileDetector) newState() any { return nil }

func (timeProfileDetector) observe(c *evalCtx, r *compiledRule, ent *entity, _ any) *hit {
	rule := &r.rule
	t := c.ev.time
	local := time.Unix(0, t).In(c.e.cfg.Location)
	how := c.e.hourOfWeek(t)
	minWeeks := max(rule.MinWeeks, 1)
	total := ent.howTotal()
	mature := ent.first != 0 && t-ent.first >= int64(minWeeks)*int64(7*24*time.Hour) && total >= max(rule.MinEntityEvents, 1)
	// Built only for a hit: this detector sees nearly every record.
	baseline := func(more ...KV) []KV {
		return append([]KV{{"local_time", local.Format("Mon 15:04 MST")}, {"profile_events", int64(total)}}, more...)
	}
	if mature {
		p := float64(ent.how[how]) / float64(total)
		if p >= rule.PThreshold {
			return nil
		}
		return &hit{
			reason: fmt.Sprintf("activity at %s, an hour-of-week with %.2f%% of this identity's activity (threshold %.2f%%)", local.Format("Mon 15:04"), 100*p, 100*rule.PThreshold),
			value:  rule.PThreshold, limit: math.Max(p, 1e-9),
			baseline: baseline(KV{"hour_of_week_share", round4(p)}, KV{"profile", "learned"}),
			first:    t, last: t,
		}
	}
	if c.e.cfg.BusinessHours.Contains(local) {
		return nil
	}
	return &hit{
		reason: fmt.Sprintf("activity at %s, outside business hours (profile not mature yet)", local.Format("Mon 15:04 MST")),
		value:  1, limit: 1,
		baseline: baseline(KV{"profile", "business_hours"}),
		first:    t, last: t,
		severity: rule.FallbackSeverity,
	}
}

func round4(f float64) float64 { return math.Round(f*10000) / 10000 }

// travelDetector: consecutive located events whose implied speed exceeds
// max_speed_kmh over more than min_distance_km. Records without geo
// attributes are skipped; a transition seen before is not reported again.
type travelDetector struct{}

type travelState struct {
	Lat   float64  `json:"a"`
	Lon   float64  `json:"o"`
	T     int64    `json:"t"`
	Addr  string   `json:"ip,omitempty"`
	Known []uint64 `json:"k,omitempty"`
}

const maxKnownTransitions = 32

func (travelDetector) newState() any { return &travelState{} }

func (travelDetector) observe(c *evalCtx, r *compiledRule, ent *entity, st any) *hit {
	if !c.ev.hasGeo {
		return nil
	}
	s := st.(*travelState)
	rule := &r.rule
	t := c.ev.time
	defer func() {
		if t >= s.T {
			s.Lat, s.Lon, s.T, s.Addr = c.ev.lat, c.ev.lon, t, cloneString(c.ev.address)
		}
	}()
	if s.T == 0 || t < s.T || (rule.ForgetAfter > 0 && t-s.T > int64(rule.ForgetAfter)) {
		return nil
	}
	d := haversineKm(s.Lat, s.Lon, c.ev.lat, c.ev.lon)
	if d <= rule.MinDistanceKm {
		return nil
	}
	hours := float64(t-s.T) / float64(time.Hour)
	speed := math.Inf(1)
	if hours > 0 {
		speed = d / hours
	}
	if speed <= rule.MaxSpeedKmh {
		return nil
	}
	tr := transitionHash(s.Lat, s.Lon, c.ev.lat, c.ev.lon)
	if containsU64(s.Known, tr) {
		return nil
	}
	if len(s.Known) >= maxKnownTransitions {
		s.Known = s.Known[1:]
	}
	s.Known = append(s.Known, tr)
	if !c.learned(r, ent) {
		return nil
	}
	speedKV := any(math.Round(speed))
	if math.IsInf(speed, 1) {
		speedKV = "inf"
	}
	return &hit{
		reason: fmt.Sprintf("%.0f km from %s (%.2f,%.2f) to %s (%.2f,%.2f) in %s: %v km/h (max %s)", d, s.Addr, s.Lat, s.Lon,
			c.ev.address, c.ev.lat, c.ev.lon, fmtDuration(time.Duration(t-s.T).Truncate(time.Minute)), speedKV, fmtNum(rule.MaxSpeedKmh)),
		value: math.Min(speed, 1e9), limit: rule.MaxSpeedKmh,
		baseline: []KV{{"distance_km", math.Round(d)}, {"speed_kmh", speedKV}, {"from_geo", fmt.Sprintf("%.4f,%.4f", s.Lat, s.Lon)},
			{"to_geo", fmt.Sprintf("%.4f,%.4f", c.ev.lat, c.ev.lon)}, {"from_address", s.Addr}, {"previous_time", fmtTime(s.T)}},
		first: s.T, last: t,
	}
}

func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// transitionHash identifies a move between two 1-degree cells.
func transitionHash(lat1, lon1, lat2, lon2 float64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(int32(math.Floor(lat1))))
	binary.LittleEndian.PutUint32(b[4:], uint32(int32(math.Floor(lon1))))
	binary.LittleEndian.PutUint32(b[8:], uint32(int32(math.Floor(lat2))))
	binary.LittleEndian.PutUint32(b[12:], uint32(int32(math.Floor(lon2))))
	return hashBytes(fnvOffset, b[:])
}

// riskDetector accumulates the severity weights of the processor's own live
// findings per identity; it is fed by the engine, not by records.
type riskDetector struct{}

type riskEntry struct {
	T      int64    `json:"t"`
	W      float64  `json:"w"`
	Rule   string   `json:"r"`
	Tactic []string `json:"c,omitempty"`
}

type riskState struct {
	E []riskEntry `json:"e"`
}

const maxRiskEntries = 64

func (riskDetector) newState() any { return &riskState{} }

func (riskDetector) observe(*evalCtx, *compiledRule, *entity, any) *hit { return nil }

func (riskDetector) feed(r *compiledRule, s *riskState, f *Finding) *hit {
	rule := &r.rule
	t := f.EventTime
	keep := max(int64(rule.Window), int64(rule.DistinctTactics.Window))
	out := s.E[:0]
	for _, e := range s.E {
		if e.T >= t-keep {
			out = append(out, e)
		}
	}
	s.E = out
	// A rule counts once per window: one noisy rule repeating must not add
	// up to a risk finding on its own, and risk is re-evaluated only when new
	// evidence (a rule not yet counted) arrives.
	for i := range s.E {
		if s.E[i].Rule == f.RuleID && s.E[i].T >= t-int64(rule.Window) {
			if w := rule.Weights[f.Severity]; w > s.E[i].W {
				s.E[i].W = w
			}
			if SeverityRank(f.Severity) >= SeverityRank(rule.DistinctTactics.MinSeverity) {
				s.E[i].Tactic = f.Tactics
			}
			s.E[i].T = max(s.E[i].T, t)
			return nil
		}
	}
	if len(s.E) >= maxRiskEntries {
		s.E = s.E[1:]
	}
	w := rule.Weights[f.Severity]
	var counted []string
	if SeverityRank(f.Severity) >= SeverityRank(rule.DistinctTactics.MinSeverity) {
		counted = f.Tactics
	}
	s.E = append(s.E, riskEntry{T: t, W: w, Rule: f.RuleID, Tactic: counted})
	var total float64
	tactics := map[string]bool{}
	contributors := map[string]bool{}
	first := t
	for _, e := range s.E {
		if e.T >= t-int64(rule.Window) {
			total += e.W
			contributors[e.Rule] = true
			first = min(first, e.T)
		}
		if rule.DistinctTactics.Min > 0 && e.T >= t-int64(rule.DistinctTactics.Window) {
			for _, tc := range e.Tactic {
				tactics[tc] = true
			}
		}
	}
	tacticList := sortedKeys(tactics)
	ruleList := sortedKeys(contributors)
	var why string
	switch {
	case total > rule.Threshold:
		why = fmt.Sprintf("risk score %s > %s in %s", fmtNum(total), fmtNum(rule.Threshold), fmtDuration(rule.Window))
	case rule.DistinctTactics.Min > 0 && len(tacticList) >= rule.DistinctTactics.Min:
		why = fmt.Sprintf("%d distinct ATT&CK tactics in %s (%v)", len(tacticList), fmtDuration(rule.DistinctTactics.Window), tacticList)
	default:
		return nil
	}
	return &hit{
		reason: why + fmt.Sprintf(" from rules %v", ruleList),
		value:  total, limit: rule.Threshold,
		baseline: []KV{{"risk_score", total}, {"tactics", tacticList}, {"contributing_rules", ruleList}, {"window", fmtDuration(rule.Window)}},
		first:    first, last: t,
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
