// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

// base is a Monday 10:00 UTC, inside default business hours.
var base = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// rec is one audit record in the DESIGN §3.1 schema: attrs are the record
// attributes (map values become pcommon values as-is).
type rec struct {
	t     time.Time
	attrs map[string]any
}

var eventSeq int

// audit builds a record from defaults overlaid with attrs; a nil value
// removes the default attribute.
func audit(t time.Time, attrs map[string]any) rec {
	eventSeq++
	a := map[string]any{
		"event.name":                "databricks.audit",
		"databricks.service_name":   "unityCatalog",
		"databricks.action_name":    "getTable",
		"databricks.event_id":       fmt.Sprintf("ev-%06d", eventSeq),
		"databricks.audit.source":   "system_table",
		"user.email":                "alice@corp.com",
		"databricks.identity.type":  "user",
		"source.address":            "198.51.100.7",
		"user_agent.original":       "Mozilla/5.0 (Macintosh) Chrome/120.0 Safari/537.36",
		"http.response.status_code": int64(200),
	}
	for k, v := range attrs {
		if v == nil {
			delete(a, k)
			continue
		}
		a[k] = v
	}
	return rec{t: t, attrs: a}
}

// logsOf puts records into one resource, like the audit receiver does.
func logsOf(recs ...rec) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("databricks.workspace.id", "1234567890123456")
	rl.Resource().Attributes().PutStr("cloud.provider", "aws")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, r := range recs {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(r.t))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.t.Add(time.Minute)))
		lr.SetEventName("databricks.audit")
		lr.SetSeverityText("INFO")
		lr.Body().SetEmptyMap().PutStr("actionName", fmt.Sprint(r.attrs["databricks.action_name"]))
		if err := lr.Attributes().FromRaw(maps.Clone(r.attrs)); err != nil {
			panic(err)
		}
	}
	return ld
}

type harness struct {
	t    *testing.T
	cfg  *Config
	proc processor.Logs
	sink *consumertest.LogsSink
	tel  *componenttest.Telemetry
	host component.Host
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	return startHarness(t, cfg, componenttest.NewNopHost())
}

func startHarness(t *testing.T, cfg *Config, host component.Host) *harness {
	tel := componenttest.NewTelemetry()
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := &consumertest.LogsSink{}
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), host))
	h := &harness{t: t, cfg: cfg, proc: p, sink: sink, tel: tel, host: host}
	t.Cleanup(func() {
		_ = p.Shutdown(context.Background())
		_ = tel.Shutdown(context.Background())
	})
	return h
}

// feed sends the records as one batch (in batches of 500 for long
// histories) and returns the finding records produced.
func (h *harness) feed(recs ...rec) []plog.LogRecord {
	var out []plog.LogRecord
	for len(recs) > 0 {
		n := min(len(recs), 500)
		before := len(h.sink.AllLogs())
		ld := logsOf(recs[:n]...)
		in := ld.LogRecordCount()
		require.NoError(h.t, h.proc.ConsumeLogs(context.Background(), ld))
		all := h.sink.AllLogs()
		require.Len(h.t, all, before+1)
		got := all[len(all)-1]
		audits := 0
		forEachRecord(got, func(lr plog.LogRecord) {
			if lr.EventName() == "databricks.access_anomaly" {
				out = append(out, lr)
			} else {
				audits++
			}
		})
		require.Equal(h.t, in, audits, "every audit record must pass through")
		recs = recs[n:]
	}
	return out
}

func forEachRecord(ld plog.Logs, fn func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				fn(lrs.At(k))
			}
		}
	}
}

func ruleOf(lr plog.LogRecord) string {
	v, _ := lr.Attributes().Get("security_rule.uuid")
	return v.Str()
}

func withRule(findings []plog.LogRecord, id string) []plog.LogRecord {
	var out []plog.LogRecord
	for _, f := range findings {
		if ruleOf(f) == id {
			out = append(out, f)
		}
	}
	return out
}

func attrStr(lr plog.LogRecord, key string) string {
	v, ok := lr.Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// every returns n records spaced by step starting at t, each built by fn.
func every(t time.Time, step time.Duration, n int, fn func(i int, t time.Time) rec) []rec {
	out := make([]rec, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, fn(i, t.Add(time.Duration(i)*step)))
	}
	return out
}

// history builds daily activity for an identity over days, spreading
// nPerDay events across business hours, so behavioural rules are past
// their learning period.
func history(start time.Time, days, nPerDay int, attrs map[string]any) []rec {
	var out []rec
	for d := 0; d < days; d++ {
		day := start.AddDate(0, 0, d)
		for i := 0; i < nPerDay; i++ {
			a := maps.Clone(attrs)
			out = append(out, audit(day.Add(time.Duration(i)*(8*time.Hour)/time.Duration(nPerDay)), a))
		}
	}
	return out
}

// mustRule decodes a user rule from JSON through the same confmap path as YAML.
func mustRule(t *testing.T, js string) rules.Rule {
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &m))
	var r rules.Rule
	require.NoError(t, confmap.NewFromStringMap(m).Unmarshal(&r))
	return r
}
