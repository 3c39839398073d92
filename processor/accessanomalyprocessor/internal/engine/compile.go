// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/lists"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/ottlfuncs"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

type tctx = *ottllog.TransformContext

// Config is the engine's view of the processor configuration.
type Config struct {
	Lists           map[string][]string // merged with lists.Defaults
	Location        *time.Location
	BusinessHours   BusinessHours
	MaxEntities     int
	EntityIdleTTL   time.Duration
	AllowedLateness time.Duration
	MaxFutureSkew   time.Duration
	MaxEventIDs     int
	// DefaultSuppressWindow applies to rules without suppress.window.
	DefaultSuppressWindow time.Duration
}

// BusinessHours in the configured time zone.
type BusinessHours struct {
	Days         [7]bool // indexed by time.Weekday
	StartMinutes int
	EndMinutes   int
}

// Contains reports whether t (already in the right zone) is inside.
func (b BusinessHours) Contains(t time.Time) bool {
	if !b.Days[t.Weekday()] {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	return m >= b.StartMinutes && m < b.EndMinutes
}

type noiseMask uint8

const (
	noiseSystemUser noiseMask = 1 << iota
	noiseServiceUA
	noisePrivateIP
	noiseTelemetryPath
)

type severityCase struct {
	cond     int
	severity string
}

type compiledRule struct {
	rule        rules.Rule
	stateKey    string // id@hash of the rule's semantics: changed rules restart learning
	index       int
	active      bool
	dryRun      bool
	where       int
	exceptions  []int
	alertFilter int
	cases       []severityCase
	steps       []int
	noise       noiseMask
	space       *groupSpace
	slot        int // index in entity.states; noSlot for stateless detectors
	value       valueGetter
	valueLabel  string
	suppressKey []valueGetter
	// suppressByGroup adds the group key to the dedup key (the default, or
	// "group_by" listed in suppress.key).
	suppressByGroup bool
	// stateKeyJSON is stateKey as a JSON string, the key of the rule's state in a stored entity.
	stateKeyJSON []byte
	suppressWin  time.Duration
	det          detector
	since        int64
	services     []string
	actions      []string
	tactics      []uint64
}

func (r *compiledRule) matchesPrefilter(service, action string) bool {
	return prefilterMatch(r.services, service) && prefilterMatch(r.actions, action)
}

func prefilterMatch(patterns []string, v string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == v {
			return true
		}
		if strings.ContainsAny(p, "*?[") {
			if ok, _ := path.Match(p, v); ok {
				return true
			}
		}
	}
	return false
}

// Compiled is the result of compiling a rule set; Validate uses it to report
// errors, the processor turns it into an Engine.
type Compiled struct {
	cfg      Config
	set      component.TelemetrySettings
	lists    *lists.Set
	rules    []*compiledRule
	risk     *compiledRule
	spaces   []*groupSpace
	identity *groupSpace
	conds    []*ottl.Condition[tctx]
	condText []string
	fast     []fastCond // native evaluator per condition, nil when outside the subset
}

// Compile parses every enabled rule's OTTL and builds the evaluation plan.
// Errors name the rule id, the field and the OTTL parser's message.
func Compile(cfg Config, rs []rules.Rule, set component.TelemetrySettings) (*Compiled, error) {
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	ls, err := lists.Compile(lists.Merge(cfg.Lists))
	if err != nil {
		return nil, err
	}
	parser, err := ottllog.NewParser(ottlfuncs.Functions(ls), set, ottllog.EnablePathContextNames())
	if err != nil {
		return nil, err
	}
	c := &Compiled{cfg: cfg, set: set, lists: ls}
	condIndex := map[string]int{}
	cond := func(text string) (int, error) {
		text = strings.TrimSpace(text)
		if i, ok := condIndex[text]; ok {
			return i, nil
		}
		parsed, err := parser.ParseCondition(text)
		if err != nil {
			return -1, err
		}
		c.conds = append(c.conds, parsed)
		c.condText = append(c.condText, text)
		c.fast = append(c.fast, compileFast(text, ls))
		condIndex[text] = len(c.conds) - 1
		return len(c.conds) - 1, nil
	}
	spaces := map[string]*groupSpace{}
	var errs []error
	for _, r := range rs {
		if err := r.ValidateStatic(); err != nil {
			errs = append(errs, err)
			continue
		}
		if !r.IsEnabled() {
			continue
		}
		cr, err := c.compileRule(r, parser, cond, spaces)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.Type == rules.TypeRisk {
			if c.risk != nil {
				errs = append(errs, fmt.Errorf("rule %s: only one risk rule is supported (already %s)", r.ID, c.risk.rule.ID))
				continue
			}
			c.risk = cr
			continue
		}
		cr.index = len(c.rules)
		c.rules = append(c.rules, cr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.identity == nil {
		c.identity = c.space(spaces, []string{rules.IdentityExpr}, []valueGetter{attrValue{key: AttrIdentity, src: rules.IdentityExpr}})
	}
	if c.risk != nil {
		c.risk.space = c.identity
		c.risk.slot = c.identity.nslots
		c.identity.nslots++
	}
	return c, nil
}

func (c *Compiled) space(spaces map[string]*groupSpace, exprs []string, getters []valueGetter) *groupSpace {
	sig := strings.Join(exprs, "\x1f")
	if s, ok := spaces[sig]; ok {
		return s
	}
	sum := sha256.Sum256([]byte(sig))
	s := &groupSpace{
		idx:      len(c.spaces),
		sig:      sig,
		sigHash:  hex.EncodeToString(sum[:4]),
		getters:  getters,
		identity: sig == rules.IdentityExpr,
		entities: map[string]*entity{},
	}
	spaces[sig] = s
	c.spaces = append(c.spaces, s)
	if s.identity {
		c.identity = s
	}
	return s
}

func (c *Compiled) compileRule(r rules.Rule, parser ottl.Parser[tctx], cond func(string) (int, error), spaces map[string]*groupSpace) (*compiledRule, error) {
	fail := func(field string, err error) error {
		return fmt.Errorf("rule %s: %s: %w", r.ID, field, err)
	}
	cr := &compiledRule{rule: r, where: -1, alertFilter: -1, dryRun: r.Mode == rules.ModeDryRun, active: true}
	var err error
	if r.Where != "" {
		if cr.where, err = cond(r.Where); err != nil {
			return nil, fail("where", err)
		}
	}
	for i, e := range r.Exceptions {
		idx, err := cond(e)
		if err != nil {
			return nil, fail(fmt.Sprintf("exceptions[%d]", i), err)
		}
		cr.exceptions = append(cr.exceptions, idx)
	}
	if r.AlertFilter != "" {
		if cr.alertFilter, err = cond(r.AlertFilter); err != nil {
			return nil, fail("alert_filter", err)
		}
	}
	for i, sc := range r.SeverityCases {
		idx, err := cond(sc.When)
		if err != nil {
			return nil, fail(fmt.Sprintf("severity_cases[%d].when", i), err)
		}
		cr.cases = append(cr.cases, severityCase{cond: idx, severity: sc.Severity})
	}
	for i, s := range r.Steps {
		idx, err := cond(s.Where)
		if err != nil {
			return nil, fail(fmt.Sprintf("steps[%d].where", i), err)
		}
		cr.steps = append(cr.steps, idx)
	}
	needsValue := r.Value != "" && (r.Aggregate == "distinct" || r.Aggregate == "sum" || r.Type == rules.TypeNewValue ||
		r.Type == rules.TypeRare || (r.Type == rules.TypeSpike && r.Metric == "distinct"))
	if needsValue {
		if cr.value, err = compileValue(&parser, r.Value); err != nil {
			return nil, fail("value", err)
		}
		cr.valueLabel = r.ValueLabel
		if cr.valueLabel == "" {
			cr.valueLabel = "value"
			if m := attrPathRe.FindStringSubmatch(r.Value); m != nil {
				cr.valueLabel = m[1]
			}
		}
	}
	groupBy := r.GroupBy
	if len(groupBy) == 0 {
		groupBy = []string{rules.IdentityExpr}
	}
	var getters []valueGetter
	for i, g := range groupBy {
		vg, err := compileValue(&parser, g)
		if err != nil {
			return nil, fail(fmt.Sprintf("group_by[%d]", i), err)
		}
		getters = append(getters, vg)
	}
	if r.Type == rules.TypeRisk || r.Type == rules.TypeTimeProfile || r.Type == rules.TypeDormancy {
		if len(groupBy) != 1 || strings.TrimSpace(groupBy[0]) != rules.IdentityExpr {
			return nil, fail("group_by", fmt.Errorf("%s rules work per identity; group_by must be [%s]", r.Type, rules.IdentityExpr))
		}
	}
	cr.space = c.space(spaces, trimAll(groupBy), getters)
	cr.suppressByGroup = len(r.Suppress.Key) == 0
	for i, k := range r.Suppress.Key {
		if k == "group_by" {
			cr.suppressByGroup = true
			continue
		}
		if k == "rule" {
			continue
		}
		vg, err := compileValue(&parser, k)
		if err != nil {
			return nil, fail(fmt.Sprintf("suppress.key[%d]", i), err)
		}
		cr.suppressKey = append(cr.suppressKey, vg)
	}
	cr.suppressWin = r.Suppress.Window
	if cr.suppressWin == 0 {
		cr.suppressWin = c.cfg.DefaultSuppressWindow
	}
	for _, f := range r.NoiseFilters {
		switch f {
		case rules.NoiseSystemUser:
			cr.noise |= noiseSystemUser
		case rules.NoiseServiceUserAgents:
			cr.noise |= noiseServiceUA
		case rules.NoisePrivateIP:
			cr.noise |= noisePrivateIP
		case rules.NoiseTelemetryPaths:
			cr.noise |= noiseTelemetryPath
		}
	}
	if len(r.RequiresLists) > 0 {
		cr.active = false
		for _, l := range r.RequiresLists {
			if !c.lists.Has(l) {
				return nil, fail("requires_lists", fmt.Errorf("unknown list %q", l))
			}
			if c.lists.Len(l) > 0 {
				cr.active = true
			}
		}
	}
	cr.services, err = c.expandPrefilter(r.Prefilter.Services)
	if err != nil {
		return nil, fail("prefilter.services", err)
	}
	cr.actions, err = c.expandPrefilter(r.Prefilter.Actions)
	if err != nil {
		return nil, fail("prefilter.actions", err)
	}
	for _, t := range r.Tactics {
		cr.tactics = append(cr.tactics, hashOf(t))
	}
	if cr.det, err = newDetector(r); err != nil {
		return nil, fail("type", err)
	}
	// Only rules that keep state get a slot: a stateless detector (match,
	// dormancy, time_profile) then reads nothing from the entity's states,
	// and the states of one identity fit in fewer cache lines.
	cr.slot = noSlot
	if cr.det.newState() != nil {
		cr.slot = cr.space.nslots
		cr.space.nslots++
	}
	cr.stateKey = r.ID + "@" + semanticHash(r)
	cr.stateKeyJSON, _ = json.Marshal(cr.stateKey) // a string always marshals
	return cr, nil
}

func (c *Compiled) expandPrefilter(in []string) ([]string, error) {
	var out []string
	for _, p := range in {
		if name, ok := strings.CutPrefix(p, "@"); ok {
			if !c.lists.Has(name) {
				return nil, fmt.Errorf("unknown list %q", name)
			}
			out = append(out, c.lists.Raw(name)...)
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", p, err)
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// semanticHash covers the fields that change what a rule learns; metadata
// (name, severity, suppression, mode) can change without resetting baselines.
func semanticHash(r rules.Rule) string {
	s := fmt.Sprintf("%s|%s|%v|%s|%v|%s|%s|%v|%v|%v|%v|%s|%v|%s", r.Type, r.Where, r.Exceptions, r.Value,
		r.GroupBy, r.Aggregate, r.Metric, r.Window, r.Bucket, r.Within, r.Steps, r.Baseline, r.Prefilter, r.AlertFilter)
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

func trimAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

// RuleIDs lists the compiled, enabled rules (risk rule last).
func (c *Compiled) RuleIDs() []string {
	var ids []string
	for _, r := range c.rules {
		ids = append(ids, r.rule.ID)
	}
	if c.risk != nil {
		ids = append(ids, c.risk.rule.ID)
	}
	return ids
}
