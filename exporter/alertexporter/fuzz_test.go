// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The seed corpus of every fuzz target is committed under testdata/fuzz.

// FuzzParseFinding feeds arbitrary attribute values through the finding
// parser and every target's renderer: nothing may panic, every payload must
// encode, and the limits of each target must hold.
func FuzzParseFinding(f *testing.F) {
	f.Fuzz(func(t *testing.T, rule, severity, firstText string, firstInt int64, score float64, body, techniques, ip string) {
		ld, sl := newScopeLogs()
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(body)
		a := lr.Attributes()
		a.PutStr("event.name", findingEventName)
		a.PutStr(attrRuleID, rule)
		a.PutStr(attrSeverity, severity)
		a.PutStr(attrSourceAddress, ip)
		a.PutStr(attrTechniques, techniques)
		a.PutDouble(attrScore, score)
		a.PutStr(attrBaselinePrefix+"mean", body)
		if firstText != "" {
			a.PutStr(attrFirstEventTime, firstText)
		} else {
			a.PutInt(attrFirstEventTime, firstInt)
		}
		a.PutInt(attrLastEventTime, firstInt)
		a.PutDouble(attrCount, score)

		fnd := parseFinding(ld.ResourceLogs().At(0).Resource(), sl.Scope(), lr)
		if _, ok := severityRanks[fnd.Severity]; !ok {
			t.Fatalf("severity %q outside the schema", fnd.Severity)
		}
		for _, ts := range []time.Time{fnd.FirstEvent, fnd.LastEvent} {
			if !ts.IsZero() && (ts.Year() < 1970 || ts.Year() > 9999) {
				t.Fatalf("time %v cannot be written as RFC 3339", ts)
			}
		}
		al := &alert{finding: fnd, ReceivedAt: t0, GroupValues: []string{rule, ip}}

		am := (&alertmanagerTarget{repeatInterval: time.Hour}).render(al)
		for k, v := range am.Labels {
			// The exporter skips findings without a rule id before rendering.
			if !utf8.ValidString(v) || (v == "" && !(k == "alertname" && rule == "")) {
				t.Fatalf("label %s=%q is not a valid Alertmanager label value", k, v)
			}
		}
		if am.StartsAt > am.EndsAt && len(am.StartsAt) == len(am.EndsAt) {
			t.Fatalf("startsAt %s after endsAt %s", am.StartsAt, am.EndsAt)
		}
		pd := renderPagerDuty(al, "key")
		if utf8.RuneCountInString(pd.Payload.Summary) > pagerDutyMaxSummary || len(pd.DedupKey) > pagerDutyMaxDedupKey {
			t.Fatalf("pagerduty limits exceeded")
		}
		sm := renderSlack(al)
		if utf8.RuneCountInString(sm.Text) > slackMaxText || len(sm.Blocks) > 50 {
			t.Fatalf("slack limits exceeded")
		}
		for _, payload := range []any{am, pd, sm, renderWebhook(al, []string{attrRuleID})} {
			if _, err := json.Marshal(payload); err != nil {
				t.Fatalf("payload does not encode: %v", err)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, value string) {
		d := parseRetryAfter(value, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("Retry-After %q gave %s", value, d)
		}
	})
}

func FuzzSlackEscapedText(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit > 50000 || limit < -1 {
			return
		}
		out := slackEscapedText(s, limit)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q", out)
		}
		if n := utf8.RuneCountInString(out); n > max(limit, 0) {
			t.Fatalf("%d runes > limit %d", n, limit)
		}
		if strings.ContainsAny(out, "<>") {
			t.Fatalf("unescaped control character in %q", out)
		}
		// Every & must start a complete entity.
		for i := strings.IndexByte(out, '&'); i >= 0; {
			rest := out[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Fatalf("broken entity in %q", out)
			}
			next := strings.IndexByte(rest[1:], '&')
			if next < 0 {
				break
			}
			i += next + 1
		}
		if utf8.ValidString(s) && !strings.ContainsAny(s, "<>&") && utf8.RuneCountInString(s) <= limit && out != s {
			t.Fatalf("text within the limit was changed: %q -> %q", s, out)
		}
	})
}

func FuzzTruncateRunes(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit > 50000 || limit < -1 {
			return
		}
		out := truncateRunes(s, limit)
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > max(limit, 0) {
			t.Fatalf("truncateRunes(%q, %d) = %q", s, limit, out)
		}
	})
}

// FuzzIsFinding checks the cheap filter against the attribute it reads.
func FuzzIsFinding(f *testing.F) {
	f.Fuzz(func(t *testing.T, attr, field string) {
		lr := plog.NewLogRecord()
		lr.Attributes().PutStr(attrEventName, attr)
		lr.SetEventName(field)
		want := attr == findingEventName || field == findingEventName
		if isFinding(lr) != want {
			t.Fatalf("isFinding(attr=%q, field=%q) != %v", attr, field, want)
		}
	})
}
