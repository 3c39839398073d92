// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/lists"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/ottlfuncs"
)

// fastCond evaluates the common subset of rule conditions natively: and,
// or, not and parentheses over comparisons of a record attribute with a
// literal and the list/regex/network functions, with OTTL's comparison
// rules. OTTL evaluation boxes every attribute value into an interface, which
// costs an allocation per comparison; this does not. A condition outside the
// subset is not compiled (nil), and an attribute type the subset does not
// model makes eval report !ok so the OTTL condition decides; the OTTL parse
// stays the reference for syntax and errors.
type fastCond interface {
	eval(c *evalCtx) (result, ok bool)
}

type fastAnd []fastCond
type fastOr []fastCond
type fastNot struct{ x fastCond }
type fastConst bool

func (f fastAnd) eval(c *evalCtx) (bool, bool) {
	for _, x := range f {
		r, ok := x.eval(c)
		if !ok {
			return false, false
		}
		if !r {
			return false, true
		}
	}
	return true, true
}

func (f fastOr) eval(c *evalCtx) (bool, bool) {
	for _, x := range f {
		r, ok := x.eval(c)
		if !ok {
			return false, false
		}
		if r {
			return true, true
		}
	}
	return false, true
}

func (f fastNot) eval(c *evalCtx) (bool, bool) {
	r, ok := f.x.eval(c)
	return !r, ok
}

func (f fastConst) eval(*evalCtx) (bool, bool) { return bool(f), true }

type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLte
	opGt
	opGte
)

func cmpOrdered[T int64 | float64 | string](a, b T, op cmpOp) bool {
	switch op {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLte:
		return a <= b
	case opGt:
		return a > b
	default:
		return a >= b
	}
}

// fastCompare is `log.attributes["k"] <op> <int or string literal>`.
type fastCompare struct {
	key   string
	op    cmpOp
	isInt bool
	i     int64
	s     string
}

func (f fastCompare) eval(c *evalCtx) (bool, bool) {
	v, found := c.ev.lr.Attributes().Get(f.key)
	if !found || v.Type() == pcommon.ValueTypeEmpty {
		// OTTL: a comparison with nil is only true for !=.
		return f.op == opNe, true
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if f.isInt {
			return cmpOrdered(v.Int(), f.i, f.op), true
		}
		return f.op == opNe, true
	case pcommon.ValueTypeDouble:
		if f.isInt {
			return cmpOrdered(v.Double(), float64(f.i), f.op), true
		}
		return f.op == opNe, true
	case pcommon.ValueTypeStr:
		if f.isInt {
			return f.op == opNe, true
		}
		return cmpOrdered(v.Str(), f.s, f.op), true
	case pcommon.ValueTypeBool:
		return f.op == opNe, true
	}
	return false, false
}

// fastStringLike reads an attribute the way OTTL's StringLikeGetter does for
// the types it models (string, int); others defer to OTTL.
func fastStringLike(c *evalCtx, key string) (s string, present, ok bool) {
	v, found := c.ev.lr.Attributes().Get(key)
	if !found {
		return "", false, true
	}
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return "", false, true
	case pcommon.ValueTypeStr:
		return v.Str(), true, true
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.Int(), 10), true, true
	}
	return "", false, false
}

type fastFunc struct {
	key   string
	match func(c *evalCtx, s string) bool
	// source.address checks reuse the per-record parsed address.
	addr func(c *evalCtx) bool
}

func (f fastFunc) eval(c *evalCtx) (bool, bool) {
	if f.addr != nil && f.key == AttrSourceAddress {
		if _, found := c.ev.lr.Attributes().Get(f.key); !found {
			return false, true
		}
		return f.addr(c), true
	}
	s, present, ok := fastStringLike(c, f.key)
	if !ok {
		return false, false
	}
	if !present {
		return false, true
	}
	return f.match(c, s), true
}

// compileFast returns nil when text is outside the supported subset.
func compileFast(text string, set *lists.Set) fastCond {
	p := &fastParser{set: set}
	if err := p.tokenize(text); err != nil {
		return nil
	}
	x, err := p.parseOr()
	if err != nil || p.pos != len(p.toks) {
		return nil
	}
	return x
}

type fastParser struct {
	toks []string
	pos  int
	set  *lists.Set
}

var (
	tokenRe   = regexp.MustCompile(`^\s*(log\.attributes\["(?:[^"\\]|\\.)*"\]|"(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?|==|!=|<=|>=|<|>|\(|\)|\[|\]|,|[A-Za-z_][A-Za-z0-9_]*)`)
	attrTokRe = regexp.MustCompile(`^log\.attributes\["([^"\\]*)"\]$`)
)

func (p *fastParser) tokenize(text string) error {
	rest := text
	for strings.TrimSpace(rest) != "" {
		m := tokenRe.FindStringSubmatch(rest)
		if m == nil {
			return fmt.Errorf("unsupported")
		}
		p.toks = append(p.toks, m[1])
		rest = rest[len(m[0]):]
	}
	return nil
}

func (p *fastParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *fastParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *fastParser) expect(t string) error {
	if p.next() != t {
		return fmt.Errorf("expected %s", t)
	}
	return nil
}

func (p *fastParser) parseOr() (fastCond, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	or := fastOr{first}
	for p.peek() == "or" {
		p.next()
		x, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		or = append(or, x)
	}
	if len(or) == 1 {
		return first, nil
	}
	return or, nil
}

func (p *fastParser) parseAnd() (fastCond, error) {
	first, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	and := fastAnd{first}
	for p.peek() == "and" {
		p.next()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		and = append(and, x)
	}
	if len(and) == 1 {
		return first, nil
	}
	return and, nil
}

func (p *fastParser) parseNot() (fastCond, error) {
	if p.peek() == "not" {
		p.next()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return fastNot{x}, nil
	}
	return p.parsePrimary()
}

func attrKey(tok string) (string, bool) {
	m := attrTokRe.FindStringSubmatch(tok)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func unquote(tok string) (string, bool) {
	if !strings.HasPrefix(tok, `"`) {
		return "", false
	}
	s, err := strconv.Unquote(tok)
	return s, err == nil
}

func (p *fastParser) parsePrimary() (fastCond, error) {
	tok := p.next()
	switch tok {
	case "(":
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		return x, p.expect(")")
	case "true":
		return fastConst(true), nil
	case "false":
		return fastConst(false), nil
	}
	if key, ok := attrKey(tok); ok {
		return p.parseComparison(key)
	}
	if p.peek() == "(" {
		return p.parseCall(tok)
	}
	return nil, fmt.Errorf("unsupported %q", tok)
}

func (p *fastParser) parseComparison(key string) (fastCond, error) {
	ops := map[string]cmpOp{"==": opEq, "!=": opNe, "<": opLt, "<=": opLte, ">": opGt, ">=": opGte}
	op, ok := ops[p.next()]
	if !ok {
		return nil, fmt.Errorf("expected comparison")
	}
	lit := p.next()
	if s, ok := unquote(lit); ok {
		return fastCompare{key: key, op: op, s: s}, nil
	}
	i, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("unsupported literal %q", lit)
	}
	return fastCompare{key: key, op: op, isInt: true, i: i}, nil
}

func (p *fastParser) parseCall(name string) (fastCond, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	key, ok := attrKey(p.next())
	if !ok {
		return nil, fmt.Errorf("unsupported argument")
	}
	var f fastFunc
	f.key = key
	switch name {
	case "IsPrivateIP":
		f.match = func(_ *evalCtx, s string) bool {
			a, ok := ottlfuncs.ParseAddr(s)
			return ok && ottlfuncs.IsPrivate(a)
		}
		f.addr = func(c *evalCtx) bool {
			a, ok := c.address()
			return ok && ottlfuncs.IsPrivate(a)
		}
	case "InList", "ContainsAny", "IsMatch":
		if err := p.expect(","); err != nil {
			return nil, err
		}
		arg, ok := unquote(p.next())
		if !ok {
			return nil, fmt.Errorf("unsupported argument")
		}
		switch name {
		case "InList", "ContainsAny":
			m := p.set.Matcher(arg)
			if m == nil {
				return nil, fmt.Errorf("unknown list")
			}
			if name == "InList" {
				f.match = func(_ *evalCtx, s string) bool { return m.Match(s) }
			} else {
				cache := map[string]bool{}
				f.match = func(_ *evalCtx, s string) bool {
					if r, ok := cache[s]; ok {
						return r
					}
					r := m.Contains(s)
					if len(cache) < 4096 {
						cache[strings.Clone(s)] = r
					}
					return r
				}
			}
		case "IsMatch":
			re, err := regexp.Compile(arg)
			if err != nil {
				return nil, err
			}
			f.match = func(_ *evalCtx, s string) bool { return re.MatchString(s) }
		}
	case "IsInCIDR":
		if err := p.expect(","); err != nil {
			return nil, err
		}
		if err := p.expect("["); err != nil {
			return nil, err
		}
		var values []string
		for {
			s, ok := unquote(p.next())
			if !ok {
				return nil, fmt.Errorf("unsupported argument")
			}
			if p.set.Has(s) {
				values = append(values, p.set.Raw(s)...)
			} else {
				values = append(values, s)
			}
			if p.peek() != "," {
				break
			}
			p.next()
		}
		if err := p.expect("]"); err != nil {
			return nil, err
		}
		cidrs, err := lists.NewCIDRSet("IsInCIDR", values)
		if err != nil {
			return nil, err
		}
		f.match = func(_ *evalCtx, s string) bool {
			a, ok := ottlfuncs.ParseAddr(s)
			return ok && cidrs.Contains(a)
		}
		f.addr = func(c *evalCtx) bool {
			a, ok := c.address()
			return ok && cidrs.Contains(a)
		}
	default:
		return nil, fmt.Errorf("unsupported function %s", name)
	}
	return f, p.expect(")")
}
