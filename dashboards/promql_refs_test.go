// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards_test

import (
	"fmt"
	"strings"
	"unicode"
)

// selectorRef is one vector selector of a PromQL expression: the metric name and the label
// names of its matchers.
type selectorRef struct {
	Metric string
	Labels []string
}

// promqlRefs is every metric and label name a PromQL expression refers to.
type promqlRefs struct {
	Selectors []selectorRef
	// GroupingLabels are the labels of by / without / on / ignoring / group_left / group_right.
	GroupingLabels []string
}

// Aggregation operators are identifiers that may be followed by a `by (...)` clause instead of
// an opening parenthesis, so they cannot be told from metric names by what follows them.
var aggregationOperators = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
	"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
	"quantile": true, "limitk": true, "limit_ratio": true,
}

var groupingKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

var otherKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "offset": true, "bool": true, "atan2": true,
	"inf": true, "nan": true,
}

// parsePromQL lists the metric and label names of a PromQL expression. It is a scanner, not a
// full parser: it knows enough of the grammar to find names (selectors, matchers, grouping
// clauses) and skips strings, ranges, numbers, durations and Grafana variables. A selector
// without a metric name ({__name__=~...}) is an error, so that every metric name used is
// visible to the contract check.
func parsePromQL(expr string) (promqlRefs, error) {
	var refs promqlRefs
	s := scanner{src: expr}
	lastSelector := -1 // index in refs.Selectors of a metric name that a `{` may still follow
	for {
		s.skipSpaceAndComments()
		if s.eof() {
			return refs, nil
		}
		c := s.peek()
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := s.skipString(); err != nil {
				return refs, err
			}
			lastSelector = -1
		case c == '{':
			labels, err := s.matchers()
			if err != nil {
				return refs, err
			}
			if lastSelector < 0 {
				return refs, fmt.Errorf("selector without a metric name at offset %d in %q", s.pos, expr)
			}
			refs.Selectors[lastSelector].Labels = append(refs.Selectors[lastSelector].Labels, labels...)
			lastSelector = -1
		case c == '[':
			if err := s.skipBracket(); err != nil {
				return refs, err
			}
		case c == '$':
			s.skipGrafanaVariable()
			lastSelector = -1
		case unicode.IsDigit(rune(c)) || (c == '.' && unicode.IsDigit(rune(s.peekAt(1)))):
			s.skipNumberOrDuration()
			lastSelector = -1
		case isIdentStart(c):
			name := s.identifier()
			lastSelector = -1
			switch {
			case groupingKeywords[name]:
				s.skipSpaceAndComments()
				if !s.eof() && s.peek() == '(' {
					labels, err := s.labelList()
					if err != nil {
						return refs, err
					}
					refs.GroupingLabels = append(refs.GroupingLabels, labels...)
				}
			case otherKeywords[name] || aggregationOperators[name]:
			default:
				s.skipSpaceAndComments()
				if !s.eof() && s.peek() == '(' {
					continue // a function call
				}
				refs.Selectors = append(refs.Selectors, selectorRef{Metric: name})
				lastSelector = len(refs.Selectors) - 1
			}
		default:
			s.pos++ // operators, parentheses, commas
			lastSelector = -1
		}
	}
}

// metricNames lists the distinct metric names of refs.
func (r promqlRefs) metricNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, sel := range r.Selectors {
		if !seen[sel.Metric] {
			seen[sel.Metric] = true
			names = append(names, sel.Metric)
		}
	}
	return names
}

type scanner struct {
	src string
	pos int
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte { return s.src[s.pos] }

func (s *scanner) peekAt(n int) byte {
	if s.pos+n >= len(s.src) {
		return 0
	}
	return s.src[s.pos+n]
}

func (s *scanner) skipSpaceAndComments() {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			s.pos++
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

func (s *scanner) skipString() error {
	quote := s.peek()
	start := s.pos
	s.pos++
	for !s.eof() {
		c := s.peek()
		if c == '\\' && quote != '`' {
			s.pos += 2
			continue
		}
		s.pos++
		if c == quote {
			return nil
		}
	}
	return fmt.Errorf("unterminated string at offset %d in %q", start, s.src)
}

// skipBracket skips a range or subquery ([5m], [1h:5m], [$__rate_interval]).
func (s *scanner) skipBracket() error {
	start := s.pos
	end := strings.IndexByte(s.src[s.pos:], ']')
	if end < 0 {
		return fmt.Errorf("unterminated [ at offset %d in %q", start, s.src)
	}
	s.pos += end + 1
	return nil
}

// skipGrafanaVariable skips $name, ${name} and ${name:format}.
func (s *scanner) skipGrafanaVariable() {
	s.pos++
	if !s.eof() && s.peek() == '{' {
		if end := strings.IndexByte(s.src[s.pos:], '}'); end >= 0 {
			s.pos += end + 1
			return
		}
	}
	for !s.eof() && (isIdentStart(s.peek()) || unicode.IsDigit(rune(s.peek()))) {
		s.pos++
	}
}

// skipNumberOrDuration skips 5, 0.8, 1e3, 0x1f, 5m, 1h30m.
func (s *scanner) skipNumberOrDuration() {
	for !s.eof() {
		c := s.peek()
		if unicode.IsDigit(rune(c)) || unicode.IsLetter(rune(c)) || c == '.' {
			s.pos++
			continue
		}
		return
	}
}

func (s *scanner) identifier() string {
	start := s.pos
	for !s.eof() && (isIdentStart(s.peek()) || unicode.IsDigit(rune(s.peek()))) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// matchers reads {name op "value", ...} and returns the label names.
func (s *scanner) matchers() ([]string, error) {
	start := s.pos
	s.pos++ // {
	var labels []string
	for {
		s.skipSpaceAndComments()
		if s.eof() {
			return nil, fmt.Errorf("unterminated { at offset %d in %q", start, s.src)
		}
		switch c := s.peek(); {
		case c == '}':
			s.pos++
			return labels, nil
		case c == ',':
			s.pos++
		case c == '"' || c == '\'' || c == '`':
			if err := s.skipString(); err != nil {
				return nil, err
			}
		case isIdentStart(c):
			labels = append(labels, s.identifier())
		case c == '=' || c == '!' || c == '~':
			s.pos++
		default:
			return nil, fmt.Errorf("unexpected %q in label matchers at offset %d in %q", c, s.pos, s.src)
		}
	}
}

// labelList reads (a, b, c).
func (s *scanner) labelList() ([]string, error) {
	start := s.pos
	s.pos++ // (
	var labels []string
	for {
		s.skipSpaceAndComments()
		if s.eof() {
			return nil, fmt.Errorf("unterminated ( at offset %d in %q", start, s.src)
		}
		switch c := s.peek(); {
		case c == ')':
			s.pos++
			return labels, nil
		case c == ',':
			s.pos++
		case isIdentStart(c):
			labels = append(labels, s.identifier())
		default:
			return nil, fmt.Errorf("unexpected %q in label list at offset %d in %q", c, s.pos, s.src)
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
