// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package ottlfuncs

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/lists"
)

func TestUAFamily(t *testing.T) {
	tests := map[string]string{
		"databricks-cli/0.212.1 go/1.21": "databricks-cli/0",
		"python-requests/2.31.0":         "python-requests/2",
		"curl/8.4.0":                     "curl/8",
		"Mozilla/5.0 (Macintosh) AppleWebKit Chrome/120.0 Safari/537.36":  "Chrome",
		"Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/121.0":      "Firefox",
		"Mozilla/5.0 (Macintosh) Version/17.5 Safari/605.1.15":            "Safari",
		"Mozilla/5.0 (Windows) Chrome/120.0 Safari/537.36 Edg/120.0.2210": "Edge",
		"TruffleHog":       "TruffleHog",
		"":                 "",
		"  okhttp/4.12.0 ": "okhttp/4",
	}
	for ua, want := range tests {
		assert.Equal(t, want, UAFamily(ua), ua)
	}
}

func TestParseAddrAndPrivate(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		private bool
	}{
		{"198.51.100.7", true, false},
		{"198.51.100.7:443", true, false},
		{"[2001:db8::1]:443", true, false},
		{"10.1.2.3", true, true},
		{"192.168.0.1", true, true},
		{"172.16.5.4", true, true},
		{"100.64.1.1", true, true},
		{"169.254.1.1", true, true},
		{"127.0.0.1", true, true},
		{"0.0.0.0", true, true},
		{"::ffff:10.0.0.1", true, true},
		{"fd00::1", true, true},
		{"", false, false},
		{"not-an-ip", false, false},
	}
	for _, tt := range tests {
		a, ok := ParseAddr(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		if ok {
			assert.Equal(t, tt.private, IsPrivate(a), tt.in)
		}
		assert.Equal(t, tt.ok && !tt.private, IsPublicAddress(tt.in), tt.in)
	}
	assert.Equal(t, "198.51.100.0/24", Network(netip.MustParseAddr("198.51.100.7"), 24, 48).String())
	assert.Equal(t, "2001:db8:1::/48", Network(netip.MustParseAddr("2001:db8:1:2::9"), 24, 48).String())
}

// evalCondition runs one condition with the processor's functions.
func evalCondition(t *testing.T, cond string, attrs map[string]any, ts time.Time) bool {
	set, err := lists.Compile(lists.Merge(map[string][]string{"allowed_cidrs": {"203.0.113.0/24"}, "sensitive_tables": {"main.hr.*"}}))
	require.NoError(t, err)
	p, err := ottllog.NewParser(Functions(set), component.TelemetrySettings{Logger: zap.NewNop()}, ottllog.EnablePathContextNames())
	require.NoError(t, err)
	c, err := p.ParseCondition(cond)
	require.NoError(t, err)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	require.NoError(t, lr.Attributes().FromRaw(attrs))
	tc := ottllog.NewTransformContext(rl, sl, lr)
	defer tc.Close()
	ok, err := c.Eval(context.Background(), tc)
	require.NoError(t, err)
	return ok
}

func TestFunctions(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) string { return strings.TrimSpace(pcommonInt(now.Add(d).UnixMilli())) }
	tests := []struct {
		cond  string
		attrs map[string]any
		want  bool
	}{
		{`IsInCIDR(log.attributes["ip"], ["allowed_cidrs"])`, map[string]any{"ip": "203.0.113.9"}, true},
		{`IsInCIDR(log.attributes["ip"], ["allowed_cidrs", "10.0.0.0/8"])`, map[string]any{"ip": "10.9.9.9"}, true},
		{`IsInCIDR(log.attributes["ip"], ["allowed_cidrs"])`, map[string]any{"ip": "198.51.100.1"}, false},
		{`IsInCIDR(log.attributes["ip"], ["allowed_cidrs"])`, map[string]any{}, false},
		{`IsPrivateIP(log.attributes["ip"])`, map[string]any{"ip": "192.168.1.1"}, true},
		{`IsPrivateIP(log.attributes["ip"])`, map[string]any{"ip": "8.8.8.8"}, false},
		{`InList(log.attributes["t"], "sensitive_tables")`, map[string]any{"t": "main.hr.salaries"}, true},
		{`InList(log.attributes["t"], "sensitive_tables")`, map[string]any{"t": "main.sales.x"}, false},
		{`InList(log.attributes["a"], "login_actions")`, map[string]any{"a": "samlLogin"}, true},
		{`ContainsAny(log.attributes["ua"], "service_user_agents")`, map[string]any{"ua": "x Databricks-Runtime/15"}, true},
		{`IPNetwork(log.attributes["ip"], 24, 48) == "198.51.100.0/24"`, map[string]any{"ip": "198.51.100.77"}, true},
		{`UAFamily(log.attributes["ua"]) == "curl/8"`, map[string]any{"ua": "curl/8.4.0"}, true},
		{`TokenLifetimeHours(log.attributes["exp"]) < 0`, map[string]any{}, true},
		{`TokenLifetimeHours(log.attributes["exp"]) < 0`, map[string]any{"exp": "0"}, true},
		{`TokenLifetimeHours(log.attributes["exp"]) > 72`, map[string]any{"exp": ms(100 * time.Hour)}, true},
		{`TokenLifetimeHours(log.attributes["exp"]) > 72`, map[string]any{"exp": ms(24 * time.Hour)}, false},
		{`TokenLifetimeHours(log.attributes["exp"]) > 8760`, map[string]any{"exp": now.Add(9000 * time.Hour).UnixMilli()}, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, evalCondition(t, tt.cond, tt.attrs, now), "%s %v", tt.cond, tt.attrs)
	}
}

func TestUnknownListIsAParseError(t *testing.T) {
	set, err := lists.Compile(lists.Merge(nil))
	require.NoError(t, err)
	p, err := ottllog.NewParser(Functions(set), component.TelemetrySettings{Logger: zap.NewNop()}, ottllog.EnablePathContextNames())
	require.NoError(t, err)
	_, err = p.ParseCondition(`InList(log.attributes["x"], "missing")`)
	require.ErrorContains(t, err, `unknown list "missing"`)
	_, err = p.ParseCondition(`IsInCIDR(log.attributes["x"], ["login_actions"])`)
	require.ErrorContains(t, err, "does not hold networks")
}

func pcommonInt(v int64) string { return pcommon.NewValueInt(v).AsString() }

func FuzzUAFamily(f *testing.F) {
	f.Add("databricks-cli/0.212.1 go/1.21")
	f.Add("Mozilla/5.0 (Windows) Chrome/120.0")
	f.Add("a/")
	f.Fuzz(func(t *testing.T, ua string) {
		fam := UAFamily(ua)
		if fam != "" && !strings.Contains(ua, fam) && !strings.HasPrefix(ua, " ") {
			switch fam {
			case "Edge", "Opera", "Firefox", "Chrome", "Safari", "Browser":
			default:
				t.Fatalf("family %q is not part of %q", fam, ua)
			}
		}
	})
}

func FuzzParseAddr(f *testing.F) {
	f.Add("198.51.100.7:443")
	f.Add("[::1]:80")
	f.Add("10.0.0.1")
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseAddr(s)
		if ok && !a.IsValid() {
			t.Fatalf("ParseAddr(%q) reported an invalid address as valid", s)
		}
		_ = IsPublicAddress(s)
	})
}

func FuzzToInt64(f *testing.F) {
	f.Add("1837962000000")
	f.Add("1.5e12")
	f.Add("null")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = toInt64(s)
	})
}
