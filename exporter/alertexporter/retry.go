// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attributes the exporter puts on the copies of findings it hands back to
// exporterhelper for retry. They carry the decisions made on the first
// attempt (which targets are still missing the alert, when it was received,
// how many findings it stands for), so a retry neither re-applies
// repeat_interval nor re-sends to targets that already have the alert.
// They never leave the exporter: the webhook strips the prefix.
const (
	internalAttrPrefix  = "alertexporter."
	attrPendingTargets  = internalAttrPrefix + "pending_targets"
	attrReceivedAt      = internalAttrPrefix + "received_time_unix_nano"
	attrSuppressedCount = internalAttrPrefix + "held_back"
	attrGroupValues     = internalAttrPrefix + "group_values"
)

// pendingLogs copies the alerts that still miss a target into a new
// plog.Logs (the incoming batch is read-only) with the retry bookkeeping.
func (e *alertExporter) pendingLogs(alerts []*pendingAlert) plog.Logs {
	out := plog.NewLogs()
	for _, a := range alerts {
		if len(a.targets) == 0 {
			continue
		}
		rl := out.ResourceLogs().AppendEmpty()
		a.resource.CopyTo(rl.Resource())
		sl := rl.ScopeLogs().AppendEmpty()
		a.scope.CopyTo(sl.Scope())
		lr := sl.LogRecords().AppendEmpty()
		a.record.CopyTo(lr)

		attrs := lr.Attributes()
		names := make([]string, 0, len(a.targets))
		for name := range a.targets {
			names = append(names, name)
		}
		sort.Strings(names)
		pending := attrs.PutEmptySlice(attrPendingTargets)
		for _, name := range names {
			pending.AppendEmpty().SetStr(name)
		}
		attrs.PutInt(attrReceivedAt, a.ReceivedAt.UnixNano())
		attrs.PutInt(attrSuppressedCount, a.Suppressed)
		values := attrs.PutEmptySlice(attrGroupValues)
		for _, v := range a.GroupValues {
			values.AppendEmpty().SetStr(v)
		}
	}
	return out
}

// resumeRetry rebuilds an alert from a record pendingLogs produced. It
// reports false for records without the bookkeeping, i.e. fresh findings.
func (e *alertExporter) resumeRetry(resource pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) (*pendingAlert, bool) {
	attrs := lr.Attributes()
	pendingVal, ok := attrs.Get(attrPendingTargets)
	if !ok || pendingVal.Type() != pcommon.ValueTypeSlice {
		return nil, false
	}
	known := e.allTargets()
	targets := map[string]bool{}
	pending := pendingVal.Slice()
	for i := 0; i < pending.Len(); i++ {
		if name := pending.At(i).AsString(); known[name] {
			targets[name] = true
		}
	}
	a := &alert{finding: parseFinding(resource, scope, lr)}
	if v, ok := attrs.Get(attrReceivedAt); ok && v.Type() == pcommon.ValueTypeInt {
		a.ReceivedAt = time.Unix(0, v.Int()).UTC()
	} else {
		a.ReceivedAt = e.now().UTC()
	}
	if v, ok := attrs.Get(attrSuppressedCount); ok && v.Type() == pcommon.ValueTypeInt {
		a.Suppressed = v.Int()
	}
	if v, ok := attrs.Get(attrGroupValues); ok && v.Type() == pcommon.ValueTypeSlice {
		s := v.Slice()
		a.GroupValues = make([]string, s.Len())
		for i := 0; i < s.Len(); i++ {
			a.GroupValues[i] = s.At(i).AsString()
		}
	}
	return &pendingAlert{alert: a, targets: targets}, true
}
