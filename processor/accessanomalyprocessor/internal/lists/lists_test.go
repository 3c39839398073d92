// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package lists

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatcher(t *testing.T) {
	m, err := NewMatcher("sensitive_tables", []string{"main.hr.*", "*.pii_*", "exact.table", "ca[tr].x"})
	require.NoError(t, err)
	tests := []struct {
		value string
		want  bool
	}{
		{"main.hr.salaries", true},
		{"main.hr", false},
		{"dev.sales.pii_customers", true},
		{"dev.sales.customers", false},
		{"exact.table", true},
		{"exact.table2", false},
		{"cat.x", true},
		{"cap.x", false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, m.Match(tt.value), tt.value)
	}
}

func TestMatcherContainsFold(t *testing.T) {
	m, err := NewMatcher("ua", []string{"Databricks-Service/driver", "TruffleHog"})
	require.NoError(t, err)
	assert.True(t, m.Contains("Apache-HttpClient databricks-service/driver x"))
	assert.True(t, m.Contains("trufflehog/3.63"))
	assert.False(t, m.Contains("Mozilla/5.0"))
	assert.False(t, m.Contains(""))
}

func TestBadGlob(t *testing.T) {
	_, err := NewMatcher("bad", []string{"[a-"})
	require.ErrorContains(t, err, `list "bad"`)
}

func TestCIDRSet(t *testing.T) {
	s, err := NewCIDRSet("allowed_cidrs", []string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7"})
	require.NoError(t, err)
	assert.True(t, s.Contains(netip.MustParseAddr("203.0.113.77")))
	assert.True(t, s.Contains(netip.MustParseAddr("::ffff:203.0.113.1")))
	assert.True(t, s.Contains(netip.MustParseAddr("2001:db8::1")))
	assert.True(t, s.Contains(netip.MustParseAddr("198.51.100.7")))
	assert.False(t, s.Contains(netip.MustParseAddr("198.51.100.8")))
	_, err = NewCIDRSet("allowed_cidrs", []string{"300.1.1.0/24"})
	require.ErrorContains(t, err, "300.1.1.0/24")
}

func TestCompileRejectsBadAllowedCIDRs(t *testing.T) {
	_, err := Compile(Merge(map[string][]string{AllowedCIDRs: {"not-a-cidr"}}))
	require.ErrorContains(t, err, "allowed_cidrs")
	s, err := Compile(Merge(map[string][]string{AllowedCIDRs: {"10.0.0.0/8"}}))
	require.NoError(t, err)
	assert.Equal(t, 1, s.CIDRs(AllowedCIDRs).Len())
	assert.Nil(t, s.Matcher("nope"))
	assert.Nil(t, s.CIDRs(ScannerUserAgents))
}

// FuzzGlobMatch compares the allocation-free matcher with a regexp built
// from the same glob ('*' any run, '?' one byte).
func FuzzGlobMatch(f *testing.F) {
	f.Add("*.pii_*", "main.sales.pii_customers")
	f.Add("main.hr.*", "main.hr")
	f.Add("a?c*", "abcdef")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if strings.ContainsAny(pattern, "[\\") {
			return
		}
		var b strings.Builder
		b.WriteString("^(?s:")
		for _, r := range pattern {
			switch r {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString(")$")
		re, err := regexp.Compile(b.String())
		if err != nil || !utf8.ValidString(pattern) || !utf8.ValidString(s) || strings.Contains(pattern, "?") {
			return
		}
		if got, want := globMatch(pattern, s), re.MatchString(s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}
