// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/ottlfuncs"
)

// valueGetter extracts a rule's value (group_by element, distinct value,
// new_value, ...). The common expression shapes are evaluated natively with
// the same semantics as the OTTL functions, so the hot path neither builds a
// TransformContext nor allocates; anything else runs through OTTL.
type valueGetter interface {
	// hash returns the value's hash and false when the value is absent.
	hash(c *evalCtx) (uint64, bool)
	// str materialises the value; only called when a finding is produced
	// or a key must be retained.
	str(c *evalCtx) (string, bool)
	text() string
}

var (
	attrPathRe  = regexp.MustCompile(`^\s*log\.attributes\["([^"\\]+)"\]\s*$`)
	concatRe    = regexp.MustCompile(`^\s*Concat\(\s*\[(.*)\]\s*,\s*"([^"\\]*)"\s*\)\s*$`)
	ipNetworkRe = regexp.MustCompile(`^\s*IPNetwork\(\s*log\.attributes\["([^"\\]+)"\]\s*,\s*(\d+)\s*,\s*(\d+)\s*\)\s*$`)
	uaFamilyRe  = regexp.MustCompile(`^\s*UAFamily\(\s*log\.attributes\["([^"\\]+)"\]\s*\)\s*$`)
)

// compileValue always parses the expression with OTTL (so a bad expression is
// reported by the OTTL parser), then picks a native evaluator when the shape
// is one it implements.
func compileValue(p *ottl.Parser[tctx], expr string) (valueGetter, error) {
	ve, err := p.ParseValueExpression(expr)
	if err != nil {
		return nil, err
	}
	if m := attrPathRe.FindStringSubmatch(expr); m != nil {
		return attrValue{key: m[1], src: expr}, nil
	}
	if m := ipNetworkRe.FindStringSubmatch(expr); m != nil {
		v4, _ := strconv.Atoi(m[2])
		v6, _ := strconv.Atoi(m[3])
		if v4 <= 32 && v6 <= 128 {
			return ipNetworkValue{key: m[1], v4: v4, v6: v6, src: expr}, nil
		}
	}
	if m := uaFamilyRe.FindStringSubmatch(expr); m != nil {
		return uaFamilyValue{key: m[1], src: expr}, nil
	}
	if m := concatRe.FindStringSubmatch(expr); m != nil {
		var keys []string
		ok := true
		for _, part := range strings.Split(m[1], ",") {
			pm := attrPathRe.FindStringSubmatch(part)
			if pm == nil {
				ok = false
				break
			}
			keys = append(keys, pm[1])
		}
		if ok && len(keys) > 0 {
			return concatValue{keys: keys, sep: m[2], src: expr}, nil
		}
	}
	return ottlValue{expr: ve, src: expr}, nil
}

func attrString(c *evalCtx, key string) (string, bool) {
	v, ok := c.ev.lr.Attributes().Get(key)
	if !ok {
		return "", false
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str(), true
	}
	if v.Type() == pcommon.ValueTypeEmpty {
		return "", false
	}
	return v.AsString(), true
}

type attrValue struct{ key, src string }

func (a attrValue) hash(c *evalCtx) (uint64, bool) {
	s, ok := attrString(c, a.key)
	if !ok {
		return 0, false
	}
	return hashOf(s), true
}
func (a attrValue) str(c *evalCtx) (string, bool) { return attrString(c, a.key) }
func (a attrValue) text() string                  { return a.src }

// concatValue mirrors OTTL Concat, which renders an absent element as "<nil>".
const nilText = "<nil>"

type concatValue struct {
	keys []string
	sep  string
	src  string
}

func (cv concatValue) hash(c *evalCtx) (uint64, bool) {
	h := uint64(fnvOffset)
	for i, k := range cv.keys {
		if i > 0 {
			h = hashString(h, cv.sep)
		}
		s, ok := attrString(c, k)
		if !ok {
			s = nilText
		}
		h = hashString(h, s)
	}
	return h, true
}

func (cv concatValue) str(c *evalCtx) (string, bool) {
	var b strings.Builder
	for i, k := range cv.keys {
		if i > 0 {
			b.WriteString(cv.sep)
		}
		s, ok := attrString(c, k)
		if !ok {
			s = nilText
		}
		b.WriteString(s)
	}
	return b.String(), true
}
func (cv concatValue) text() string { return cv.src }

type ipNetworkValue struct {
	key    string
	v4, v6 int
	src    string
}

func (n ipNetworkValue) hash(c *evalCtx) (uint64, bool) {
	var a netip.Addr
	var ok bool
	if n.key == AttrSourceAddress {
		a, ok = c.address()
	} else {
		var s string
		if s, ok = attrString(c, n.key); ok {
			a, ok = ottlfuncs.ParseAddr(s)
		}
	}
	if !ok {
		return 0, false
	}
	p := ottlfuncs.Network(a, n.v4, n.v6)
	b := p.Addr().As16()
	return hashBytes(uint64(fnvOffset)^uint64(p.Bits()), b[:]), true
}

func (n ipNetworkValue) str(c *evalCtx) (string, bool) {
	s, ok := attrString(c, n.key)
	if !ok {
		return "", false
	}
	a, ok := ottlfuncs.ParseAddr(s)
	if !ok {
		return "", false
	}
	return ottlfuncs.Network(a, n.v4, n.v6).String(), true
}
func (n ipNetworkValue) text() string { return n.src }

type uaFamilyValue struct{ key, src string }

func (u uaFamilyValue) hash(c *evalCtx) (uint64, bool) {
	s, ok := attrString(c, u.key)
	if !ok {
		return 0, false
	}
	return hashOf(ottlfuncs.UAFamily(s)), true
}

func (u uaFamilyValue) str(c *evalCtx) (string, bool) {
	s, ok := attrString(c, u.key)
	if !ok {
		return "", false
	}
	return ottlfuncs.UAFamily(s), true
}
func (u uaFamilyValue) text() string { return u.src }

type ottlValue struct {
	expr *ottl.ValueExpression[tctx]
	src  string
}

func (o ottlValue) eval(c *evalCtx) (string, bool) {
	v, err := o.expr.Eval(context.Background(), c.transformContext())
	if err != nil {
		c.evalError(err)
		return "", false
	}
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case pcommon.Value:
		if x.Type() == pcommon.ValueTypeEmpty {
			return "", false
		}
		return x.AsString(), true
	default:
		return fmt.Sprint(x), true
	}
}

func (o ottlValue) hash(c *evalCtx) (uint64, bool) {
	s, ok := o.eval(c)
	if !ok {
		return 0, false
	}
	return hashOf(s), true
}
func (o ottlValue) str(c *evalCtx) (string, bool) { return o.eval(c) }
func (o ottlValue) text() string                  { return o.src }
