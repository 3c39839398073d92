// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"maps"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/engine"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/rules"
)

// Finding record attribute names (DESIGN §3.3).
const (
	attrRuleUUID       = "security_rule.uuid"
	attrRuleName       = "security_rule.name"
	attrRuleCategory   = "security_rule.category"
	attrRulesetName    = "security_rule.ruleset.name"
	attrRuleReference  = "security_rule.reference"
	attrDetector       = "anomaly.detector"
	attrSeverity       = "anomaly.severity"
	attrScore          = "anomaly.score"
	attrReason         = "anomaly.reason"
	attrMode           = "anomaly.mode"
	attrBaselinePrefix = "anomaly.baseline."
	attrRollup         = "anomaly.rollup"
	attrTechniqueID    = "threat.technique.id"
	attrTacticName     = "threat.tactic.name"
	attrDedupKey       = "alert.dedup_key"
	attrCount          = "alert.count"
	attrFirstEventTime = "alert.first_event_time"
	attrLastEventTime  = "alert.last_event_time"
	attrEventIDs       = "databricks.event_ids"
	attrRuleIDs        = "anomaly.rule_ids"
	attrMaxSeverity    = "anomaly.max_severity"
	rulesetName        = "databricks-access-anomaly"
)

var severityNumbers = map[string]plog.SeverityNumber{
	"INFO":  plog.SeverityNumberInfo,
	"WARN":  plog.SeverityNumberWarn,
	"ERROR": plog.SeverityNumberError,
	"FATAL": plog.SeverityNumberFatal,
}

// emitFindings adds live findings to ld according to the emit mode.
func emitFindings(ld plog.Logs, findings []*engine.Finding, mode string, now time.Time) {
	if len(findings) == 0 {
		return
	}
	scopes := map[int]plog.ScopeLogs{}
	for _, f := range findings {
		if f.Mode != rules.ModeLive {
			continue
		}
		if mode == EmitAnnotate || mode == EmitBoth {
			if f.HasRef {
				annotate(ld, f)
			}
		}
		if mode == EmitAppend || mode == EmitBoth {
			res := 0
			if f.HasRef {
				res = f.Ref.Resource
			}
			sl, ok := scopes[res]
			if !ok {
				if ld.ResourceLogs().Len() == 0 {
					ld.ResourceLogs().AppendEmpty()
				}
				sl = ld.ResourceLogs().At(res).ScopeLogs().AppendEmpty()
				sl.Scope().SetName(metadata.ScopeName)
				scopes[res] = sl
			}
			writeFinding(sl.LogRecords().AppendEmpty(), f, now)
		}
	}
}

func timeString(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

// writeFinding renders one finding record in the DESIGN §3.3 schema.
func writeFinding(lr plog.LogRecord, f *engine.Finding, now time.Time) {
	lr.SetTimestamp(pcommon.Timestamp(f.EventTime))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	lr.SetEventName(engine.FindingEventName)
	text := engine.SeverityText(f.Severity)
	lr.SetSeverityText(text)
	lr.SetSeverityNumber(severityNumbers[text])
	lr.Body().SetStr(f.Body)
	a := lr.Attributes()
	a.EnsureCapacity(len(f.Context) + 24)
	for _, k := range slices.Sorted(maps.Keys(f.Context)) {
		_ = a.PutEmpty(k).FromRaw(f.Context[k])
	}
	a.PutStr(engine.AttrEventName, engine.FindingEventName)
	a.PutStr(attrRuleUUID, f.RuleID)
	a.PutStr(attrRuleName, f.RuleName)
	a.PutStr(attrRuleCategory, f.Category)
	a.PutStr(attrRulesetName, rulesetName)
	if f.Reference != "" {
		a.PutStr(attrRuleReference, f.Reference)
	}
	a.PutStr(attrDetector, f.Detector)
	a.PutStr(attrSeverity, f.Severity)
	a.PutDouble(attrScore, f.Score)
	a.PutStr(attrReason, f.Reason)
	a.PutStr(attrMode, f.Mode)
	for _, kv := range f.Baseline {
		putAny(a, attrBaselinePrefix+kv.Key, kv.Value)
	}
	putStrings(a, attrTechniqueID, f.Attack)
	if len(f.Tactics) > 0 {
		putStrings(a, attrTacticName, f.Tactics)
	}
	if f.Identity != "" {
		a.PutStr(engine.AttrIdentity, f.Identity)
	}
	a.PutStr(attrDedupKey, f.DedupKey)
	a.PutInt(attrCount, int64(f.Count))
	a.PutStr(attrFirstEventTime, timeString(f.FirstEventTime))
	a.PutStr(attrLastEventTime, timeString(f.LastEventTime))
	putStrings(a, attrEventIDs, f.EventIDs)
	if f.Rollup {
		a.PutBool(attrRollup, true)
	}
}

func putStrings(a pcommon.Map, key string, vals []string) {
	s := a.PutEmptySlice(key)
	s.EnsureCapacity(len(vals))
	for _, v := range vals {
		s.AppendEmpty().SetStr(v)
	}
}

func putAny(a pcommon.Map, key string, v any) {
	switch x := v.(type) {
	case string:
		a.PutStr(key, x)
	case int64:
		a.PutInt(key, x)
	case int:
		a.PutInt(key, int64(x))
	case float64:
		a.PutDouble(key, x)
	case []string:
		putStrings(a, key, x)
	default:
		_ = a.PutEmpty(key).FromRaw(x)
	}
}

// annotate adds anomaly.rule_ids and anomaly.max_severity to the
// triggering record.
func annotate(ld plog.Logs, f *engine.Finding) {
	rls := ld.ResourceLogs()
	if f.Ref.Resource >= rls.Len() {
		return
	}
	sls := rls.At(f.Ref.Resource).ScopeLogs()
	if f.Ref.Scope >= sls.Len() {
		return
	}
	lrs := sls.At(f.Ref.Scope).LogRecords()
	if f.Ref.Record >= lrs.Len() {
		return
	}
	a := lrs.At(f.Ref.Record).Attributes()
	var ids pcommon.Slice
	if v, ok := a.Get(attrRuleIDs); ok && v.Type() == pcommon.ValueTypeSlice {
		ids = v.Slice()
	} else {
		ids = a.PutEmptySlice(attrRuleIDs)
	}
	present := false
	for i := 0; i < ids.Len(); i++ {
		if ids.At(i).Str() == f.RuleID {
			present = true
		}
	}
	if !present {
		ids.AppendEmpty().SetStr(f.RuleID)
	}
	if cur, ok := a.Get(attrMaxSeverity); !ok || engine.SeverityRank(f.Severity) > engine.SeverityRank(cur.Str()) {
		a.PutStr(attrMaxSeverity, f.Severity)
	}
}
