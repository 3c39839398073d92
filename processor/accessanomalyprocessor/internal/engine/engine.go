// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/lists"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/ottlfuncs"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

// Observer receives the engine's self-telemetry events.
type Observer interface {
	Finding(f *Finding)
	Suppressed(ruleID string)
	Evicted(reason string)
	Late()
	FutureClamped()
	Rejected()
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) Finding(*Finding)  {}
func (NopObserver) Suppressed(string) {}
func (NopObserver) Evicted(string)    {}
func (NopObserver) Late()             {}
func (NopObserver) FutureClamped()    {}
func (NopObserver) Rejected()         {}

// Eviction reasons.
const (
	EvictMaxEntities = "max_entities"
	EvictIdle        = "idle"
)

// Loader reads one stored entity snapshot (nil when absent).
type Loader func(ctx context.Context, key string) ([]byte, error)

type pfKey struct{ service, action string }

type orderedRef struct {
	t   int64
	ref RecordRef
}

const maxPrefilterCache = 8192

// Engine evaluates records against the compiled rules. It is safe for
// concurrent use; evaluation is serialised because detectors share state.
type Engine struct {
	*Compiled
	obs    Observer
	logger *zap.Logger

	mu  sync.Mutex
	lru lru
	// snapBuf, snapEnc and snapStates are snapshotEntity's scratch space (under mu).
	snapBuf    bytes.Buffer
	snapEnc    *json.Encoder
	snapStates []slotState
	pfCache    map[pfKey][]*compiledRule
	c          evalCtx
	sup        suppressor
	prev       map[string]*prevalenceTable
	seq        uint64

	// rulesByID finds the rule of a suppression window at its roll-up.
	rulesByID map[string]*compiledRule

	watermark int64
	lastSweep int64
	needSince bool

	order []orderedRef

	howFrom, howTo int64
	howVal         int

	serviceAgents    containsCache
	excludedPaths    containsCache
	systemIdentities *lists.Matcher

	load       Loader
	pending    map[string][]byte
	deleted    map[string]struct{}
	metaDirty  bool
	stateBytes int64
	loggedErr  map[string]bool
	storageErr func()

	handoffLoad    HandoffLoader
	handoffRecheck time.Duration
	handoffAdopted func()
	handoffFailed  func(identity string, err error)
	handoffPending map[string]HandoffSnapshot // evicted at the cap before being handed off
}

// New builds an engine from a compiled rule set. The engine takes the
// Compiled over (it holds the entities and learning clocks): build a new
// Compiled for every engine.
func New(c *Compiled, obs Observer, logger *zap.Logger) *Engine {
	if obs == nil {
		obs = NopObserver{}
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	e := &Engine{
		Compiled:  c,
		obs:       obs,
		logger:    logger,
		pfCache:   map[pfKey][]*compiledRule{},
		sup:       suppressor{m: map[string]*supEntry{}, max: max(c.cfg.MaxEntities, 1024)},
		prev:      map[string]*prevalenceTable{},
		pending:   map[string][]byte{},
		deleted:   map[string]struct{}{},
		loggedErr: map[string]bool{},
		needSince: true,
	}
	e.c.e = e
	e.snapEnc = json.NewEncoder(&e.snapBuf)
	e.rulesByID = make(map[string]*compiledRule, len(c.rules)+1)
	for _, r := range e.allRules() {
		e.rulesByID[r.rule.ID] = r
	}
	e.serviceAgents = containsCache{m: c.lists.Matcher(lists.ServiceUserAgents), cache: map[string]bool{}}
	e.excludedPaths = containsCache{m: c.lists.Matcher(lists.ExcludedPaths), cache: map[string]bool{}}
	e.systemIdentities = c.lists.Matcher(lists.SystemIdentities)
	e.c.memo = make([]int8, len(c.conds))
	if e.cfg.Location == nil {
		e.cfg.Location = time.UTC
	}
	return e
}

// SetLoader makes the engine read entities it does not hold from storage
// (evicted at the cap, or not preloaded).
func (e *Engine) SetLoader(l Loader, onError func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.load = l
	e.storageErr = onError
}

// EntityCount is the number of entities in memory.
func (e *Engine) EntityCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lru.n
}

// SuppressionWindows is the number of open suppression windows.
func (e *Engine) SuppressionWindows() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sup.m)
}

// StateBytes is the size of the state as last serialised.
func (e *Engine) StateBytes() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stateBytes
}

// evalCtx is the per-record evaluation scratch space, reused across records.
type evalCtx struct {
	e        *Engine
	ctx      context.Context
	ev       event
	tc       tctx
	memo     []int8
	noiseSet noiseMask
	noiseVal noiseMask
	errored  bool
	recSeq   uint64
	addr     netip.Addr
	addrOK   bool
	addrDone bool
}

// address parses source.address once per record.
func (c *evalCtx) address() (netip.Addr, bool) {
	if !c.addrDone {
		c.addr, c.addrOK = ottlfuncs.ParseAddr(c.ev.address)
		c.addrDone = true
	}
	return c.addr, c.addrOK
}

func (c *evalCtx) publicAddress() bool {
	a, ok := c.address()
	return ok && !ottlfuncs.IsPrivate(a)
}

func (c *evalCtx) transformContext() tctx {
	if c.tc == nil {
		c.tc = ottllog.NewTransformContext(c.ev.rl, c.ev.sl, c.ev.lr)
	}
	return c.tc
}

func (c *evalCtx) release() {
	if c.tc != nil {
		c.tc.Close()
		c.tc = nil
	}
	clear(c.memo)
	c.noiseSet, c.noiseVal, c.errored = 0, 0, false
	c.addrDone = false
}

// cond evaluates condition i once per record; rules sharing a condition
// text share the result.
func (c *evalCtx) cond(i int) bool {
	switch c.memo[i] {
	case 1:
		return true
	case 2:
		return false
	}
	var ok bool
	done := false
	if f := c.e.fast[i]; f != nil {
		ok, done = f.eval(c)
	}
	if !done {
		var err error
		ok, err = c.e.conds[i].Eval(c.ctx, c.transformContext())
		if err != nil {
			c.evalErrorFor(c.e.condText[i], err)
			ok = false
		}
	}
	if ok {
		c.memo[i] = 1
	} else {
		c.memo[i] = 2
	}
	return ok
}

func (c *evalCtx) evalError(err error) { c.evalErrorFor("", err) }

func (c *evalCtx) evalErrorFor(expr string, err error) {
	c.errored = true
	key := expr
	if key == "" {
		key = err.Error()
	}
	if !c.e.loggedErr[key] && len(c.e.loggedErr) < 256 {
		c.e.loggedErr[key] = true
		c.e.logger.Warn("access_anomaly: rule expression failed on a record; the record is passed on and the rule skipped for it (logged once per expression)",
			zap.String("expression", expr), zap.String("event_id", c.ev.eventID), zap.Error(err))
	}
}

func (c *evalCtx) noisy(m noiseMask) bool {
	if missing := m &^ c.noiseSet; missing != 0 {
		e := c.e
		if missing&noiseSystemUser != 0 {
			if c.ev.identityType == "system" || e.systemIdentities.Match(c.ev.identity) {
				c.noiseVal |= noiseSystemUser
			}
		}
		if missing&noiseServiceUA != 0 && e.serviceAgents.contains(c.ev.userAgent) {
			c.noiseVal |= noiseServiceUA
		}
		if missing&noisePrivateIP != 0 && !c.publicAddress() {
			c.noiseVal |= noisePrivateIP
		}
		if missing&noiseTelemetryPath != 0 && e.excludedPaths.contains(c.ev.path) {
			c.noiseVal |= noiseTelemetryPath
		}
		c.noiseSet |= missing
	}
	return c.noiseVal&m != 0
}

// candidates returns the rules whose prefilter admits (service, action),
// cached per pair because audit vocabularies are small.
func (e *Engine) candidates(service, action string) []*compiledRule {
	if rs, ok := e.pfCache[pfKey{service, action}]; ok {
		return rs
	}
	var rs []*compiledRule
	for _, r := range e.rules {
		if r.active && r.matchesPrefilter(service, action) {
			rs = append(rs, r)
		}
	}
	if len(e.pfCache) < maxPrefilterCache {
		e.pfCache[pfKey{strings.Clone(service), strings.Clone(action)}] = rs
	}
	return rs
}

// hourOfWeek caches the current hour: records arrive roughly in time order,
// and converting to a zone for every record is measurable.
func (e *Engine) hourOfWeek(t int64) int {
	if t >= e.howFrom && t < e.howTo {
		return e.howVal
	}
	local := time.Unix(0, t).In(e.cfg.Location)
	h := int(local.Weekday())*24 + local.Hour()
	start := local.Truncate(time.Hour)
	e.howFrom, e.howTo, e.howVal = start.UnixNano(), start.Add(time.Hour).UnixNano(), h
	return h
}

// containsCache memoises substring-list matches for small vocabularies
// (user agents, request paths).
type containsCache struct {
	m     *lists.Matcher
	cache map[string]bool
}

func (cc *containsCache) contains(v string) bool {
	if v == "" || cc.m == nil {
		return false
	}
	if r, ok := cc.cache[v]; ok {
		return r
	}
	r := cc.m.Contains(v)
	if len(cc.cache) < 16384 {
		cc.cache[strings.Clone(v)] = r
	}
	return r
}

// Process evaluates every audit record of ld and returns the findings in
// record order (roll-ups of closed suppression windows last). It never
// modifies ld.
func (e *Engine) Process(ctx context.Context, ld plog.Logs, now time.Time) []*Finding {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*Finding
	c := &e.c
	c.ctx = ctx
	nowNs := now.UnixNano()
	// Evaluate in event-time order: receivers group a batch by resource
	// (workspace, account), so records of one batch interleave in time, and
	// windows must not treat the second group as late.
	order := e.order[:0]
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				order = append(order, orderedRef{t: int64(ts), ref: RecordRef{Resource: i, Scope: j, Record: k}})
			}
		}
	}
	slices.SortStableFunc(order, func(x, y orderedRef) int { return cmp.Compare(x.t, y.t) })
	for _, o := range order {
		rl := rls.At(o.ref.Resource)
		sl := rl.ScopeLogs().At(o.ref.Scope)
		c.ev.load(rl, sl, sl.LogRecords().At(o.ref.Record), o.ref)
		if !c.ev.isAudit() {
			continue
		}
		e.evaluate(c, nowNs, &out)
		if c.errored {
			e.obs.Rejected()
		}
		c.release()
	}
	e.order = order[:0]
	c.ev.reset()
	if e.watermark-e.lastSweep >= int64(time.Minute) {
		e.sweep(&out)
	}
	return out
}

func (e *Engine) evaluate(c *evalCtx, nowNs int64, out *[]*Finding) {
	ev := &c.ev
	if ev.time == 0 {
		ev.time = nowNs
	}
	if limit := nowNs + int64(e.cfg.MaxFutureSkew); ev.time > limit {
		ev.time = limit
		e.obs.FutureClamped()
	}
	if ev.time > e.watermark {
		e.watermark = ev.time
	} else if ev.time < e.watermark-int64(e.cfg.AllowedLateness) {
		ev.late = true
		e.obs.Late()
	}
	e.seq++
	c.recSeq = e.seq
	if e.needSince {
		// A rule's learning clock starts with the first record it could
		// see, not with its first match.
		for _, r := range e.allRules() {
			if r.since == 0 {
				r.since = ev.time
			}
		}
		e.needSince, e.metaDirty = false, true
	}
	var ident *entity
	if ev.identity != "" {
		ident = e.entityFor(c, e.identity, ev.identity)
		if e.handoffLoad != nil && (ident.handoffUnchecked || ev.time-ident.last >= int64(e.handoffRecheck)) {
			// First sight in this process, or back after a silence long
			// enough for another owner to have handled it meanwhile.
			ident.handoffUnchecked = false
			e.adoptHandoff(c.ctx, ident)
		}
	}
	for _, r := range e.candidates(ev.service, ev.action) {
		if r.noise != 0 && c.noisy(r.noise) {
			continue
		}
		if r.where >= 0 && !c.cond(r.where) {
			continue
		}
		excepted := false
		for _, x := range r.exceptions {
			if c.cond(x) {
				excepted = true
				break
			}
		}
		if excepted {
			continue
		}
		ent := ident
		if !r.space.identity {
			key, ok := e.groupKey(c, r.space)
			if !ok {
				continue
			}
			ent = e.entityFor(c, r.space, key)
			if ent.seenSeq != c.recSeq {
				ent.seenSeq = c.recSeq
				ent.recordActivity(ev.time, -1)
			}
		}
		if ent == nil {
			continue
		}
		st := ent.state(r)
		ent.dirty = true
		if h := r.det.observe(c, r, ent, st); h != nil {
			e.fire(c, r, ent, h, out)
		}
	}
	if ident != nil {
		ident.recordActivity(ev.time, e.hourOfWeek(ev.time))
		ident.dirty = true
		ident.handoffDirty = true
	}
}

func (e *Engine) groupKey(c *evalCtx, s *groupSpace) (string, bool) {
	if len(s.getters) == 1 {
		v, ok := s.getters[0].str(c)
		return v, ok && v != ""
	}
	var b strings.Builder
	for i, g := range s.getters {
		v, ok := g.str(c)
		if !ok {
			return "", false
		}
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(v)
	}
	return b.String(), true
}

// entityFor returns the entity for key, restoring it from storage or
// creating it; at max_entities the least recently used entity is evicted
// (its state is kept in storage when one is configured).
func (e *Engine) entityFor(c *evalCtx, s *groupSpace, key string) *entity {
	if ent := s.last; ent != nil && ent.key == key {
		e.lru.touch(ent)
		return ent
	}
	if ent, ok := s.entities[key]; ok {
		s.last = ent
		e.lru.touch(ent)
		return ent
	}
	k := strings.Clone(key)
	ent := &entity{space: s, key: k}
	if e.load != nil {
		sk := entityKey(s, k)
		data, ok := e.pending[sk]
		if ok {
			delete(e.pending, sk)
		} else if _, gone := e.deleted[sk]; !gone {
			var err error
			data, err = e.load(c.ctx, sk)
			if err != nil && e.storageErr != nil {
				e.storageErr()
			}
		}
		if len(data) > 0 {
			if err := e.restoreEntity(ent, data); err != nil {
				e.logger.Warn("access_anomaly: dropping unreadable stored state", zap.String("key", sk), zap.Error(err))
			}
		}
	}
	ent.handoffUnchecked = true
	for e.lru.n >= e.cfg.MaxEntities && e.lru.n > 0 {
		e.evict(e.lru.back(), EvictMaxEntities)
	}
	s.entities[k] = ent
	s.last = ent
	e.lru.pushFront(ent)
	return ent
}

func (e *Engine) evict(ent *entity, reason string) {
	e.lru.remove(ent)
	delete(ent.space.entities, ent.key)
	if ent.space.last == ent {
		ent.space.last = nil
	}
	e.obs.Evicted(reason)
	if ent.handoffDirty && reason == EvictMaxEntities && e.handoffPending != nil {
		if s, err := e.handoffSnapshotLocked(ent); err == nil {
			e.handoffPending[ent.key] = s
		}
	}
	if e.load == nil {
		e.stateBytes -= int64(ent.persisted)
		return
	}
	sk := entityKey(ent.space, ent.key)
	if reason == EvictIdle {
		e.deleted[sk] = struct{}{}
		delete(e.pending, sk)
		e.stateBytes -= int64(ent.persisted)
		return
	}
	if ent.dirty {
		if data, err := e.snapshotEntity(ent); err == nil {
			e.pending[sk] = data
		}
	}
}

// fire applies the alert filter, severity cases and suppression, then
// emits the finding and feeds the identity's risk.
func (e *Engine) fire(c *evalCtx, r *compiledRule, ent *entity, h *hit, out *[]*Finding) {
	if r.alertFilter >= 0 && !c.cond(r.alertFilter) {
		return
	}
	severity := r.rule.Severity
	if h.severity != "" {
		severity = h.severity
	}
	for _, sc := range r.cases {
		if c.cond(sc.cond) {
			severity = sc.severity
			break
		}
	}
	f := e.newFinding(c, r, ent, h, severity)
	emit, rollup := e.sup.admit(e, r, c, f)
	if rollup != nil {
		e.obs.Finding(rollup)
		*out = append(*out, rollup)
	}
	if !emit {
		e.obs.Suppressed(r.rule.ID)
		return
	}
	e.obs.Finding(f)
	*out = append(*out, f)
	if r != e.risk && f.Mode == rules.ModeLive {
		e.feedRisk(c, f, out)
	}
}

func (e *Engine) feedRisk(c *evalCtx, f *Finding, out *[]*Finding) {
	if e.risk == nil || c.ev.identity == "" {
		return
	}
	ent := e.entityFor(c, e.identity, c.ev.identity)
	st, _ := ent.state(e.risk).(*riskState)
	if st == nil {
		return
	}
	ent.dirty = true
	if h := (riskDetector{}).feed(e.risk, st, f); h != nil {
		e.fire(c, e.risk, ent, h, out)
	}
}

func (e *Engine) newFinding(c *evalCtx, r *compiledRule, ent *entity, h *hit, severity string) *Finding {
	ids := h.eventIDs
	if len(ids) == 0 && c.ev.eventID != "" {
		ids = []string{strings.Clone(c.ev.eventID)}
	}
	f := &Finding{
		Severity:       severity,
		Score:          score(severity, h),
		Reason:         h.reason,
		Body:           findingBody(r, c.ev.identity, ent.key, h.reason),
		Baseline:       h.baseline,
		Entity:         ent.key,
		Identity:       strings.Clone(c.ev.identity),
		EventTime:      c.ev.time,
		Count:          1,
		FirstEventTime: h.first,
		LastEventTime:  h.last,
		EventIDs:       ids,
		Context:        contextOf(c.ev.lr),
		Ref:            c.ev.pos,
		HasRef:         true,
	}
	r.describe(f)
	if f.FirstEventTime == 0 {
		f.FirstEventTime = c.ev.time
	}
	if f.LastEventTime == 0 {
		f.LastEventTime = c.ev.time
	}
	return f
}

// describe sets the fields every finding of r shares.
func (r *compiledRule) describe(f *Finding) {
	f.RuleID = r.rule.ID
	f.RuleName = r.rule.Name
	f.Category = r.rule.Category
	f.Reference = r.rule.Reference
	f.Detector = r.rule.Type
	f.Mode = r.rule.Mode
	if f.Mode == "" {
		f.Mode = rules.ModeLive
	}
	f.Attack = r.rule.Attack
	f.Tactics = r.rule.Tactics
}

// findingBody names who the finding is about (the identity for rules grouped
// by identity, else the group key), the rule and the reason.
func findingBody(r *compiledRule, identity, entity, reason string) string {
	who := identity
	if who == "" || !r.space.identity {
		who = entity
	}
	return who + ": " + r.rule.Name + " — " + reason
}

// ruleByID is the configured rule with this id, the risk rule included; nil
// if there is none.
func (e *Engine) ruleByID(id string) *compiledRule {
	return e.rulesByID[id]
}

// contextOf copies the entity context of the triggering record.
func contextOf(lr plog.LogRecord) map[string]any {
	out := map[string]any{}
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		if k == AttrEventName {
			return true
		}
		for _, p := range contextPrefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v.AsRaw()
				break
			}
		}
		return true
	})
	return out
}

var contextPrefixes = []string{"databricks.", "user.", "user_agent.", "source.", "geo.", "client.", "http.response.status_code"}

// sweep expires idle entities, closes suppression windows (emitting
// roll-ups) and prunes prevalence tables.
func (e *Engine) sweep(out *[]*Finding) {
	e.lastSweep = e.watermark
	cutoff := e.watermark - int64(e.cfg.EntityIdleTTL)
	if e.cfg.EntityIdleTTL > 0 {
		for ent := e.lru.back(); ent != nil && ent.last < cutoff; ent = e.lru.back() {
			e.evict(ent, EvictIdle)
		}
	}
	e.sup.sweep(e, e.watermark, out)
	for _, r := range e.rules {
		if tbl := e.prev[r.stateKey]; tbl != nil && r.rule.GlobalPrevalence.Window > 0 {
			tbl.prune(e.watermark - int64(r.rule.GlobalPrevalence.Window))
		}
	}
}

func cloneString(s string) string { return strings.Clone(s) }
