// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

// Package engine evaluates the compiled rules against audit records and keeps
// the bounded, persistable per-entity state the detectors need.
package engine // import "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/engine"

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attribute names of the DESIGN §3.1 audit record schema.
const (
	AttrEventName     = "event.name"
	AttrService       = "databricks.service_name"
	AttrAction        = "databricks.action_name"
	AttrEventID       = "databricks.event_id"
	AttrIdentity      = "user.email"
	AttrIdentityType  = "databricks.identity.type"
	AttrSourceAddress = "source.address"
	AttrUserAgent     = "user_agent.original"
	AttrStatusCode    = "http.response.status_code"
	AttrRequestPath   = "databricks.request_params.path"
	AttrObjectName    = "databricks.object.name"
	AttrLat           = "geo.location.lat"
	AttrLon           = "geo.location.lon"

	AuditEventName   = "databricks.audit"
	FindingEventName = "databricks.access_anomaly"
)

// event is the handful of fields the engine reads natively from one record;
// strings point into the record and must be cloned before being retained.
type event struct {
	rl  plog.ResourceLogs
	sl  plog.ScopeLogs
	lr  plog.LogRecord
	pos RecordRef

	time         int64 // event time, unix ns, after clamping
	identity     string
	identityType string
	service      string
	action       string
	eventID      string
	address      string
	userAgent    string
	path         string
	status       int64
	hasStatus    bool
	lat, lon     float64
	hasGeo       bool
	late         bool
	eventNameSet bool
	eventName    string
}

// RecordRef locates a record inside the plog.Logs being processed.
type RecordRef struct {
	Resource, Scope, Record int
}

func (ev *event) reset() {
	*ev = event{}
}

// load reads the native fields in one pass over the attributes.
func (ev *event) load(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, pos RecordRef) {
	ev.reset()
	ev.rl, ev.sl, ev.lr, ev.pos = rl, sl, lr, pos
	if n := lr.EventName(); n != "" {
		ev.eventName, ev.eventNameSet = n, true
	}
	var hasLat, hasLon bool
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		switch k {
		case AttrEventName:
			if !ev.eventNameSet {
				ev.eventName, ev.eventNameSet = v.Str(), true
			}
		case AttrService:
			ev.service = v.Str()
		case AttrAction:
			ev.action = v.Str()
		case AttrEventID:
			ev.eventID = v.Str()
		case AttrIdentity:
			ev.identity = v.Str()
		case AttrIdentityType:
			ev.identityType = v.Str()
		case AttrSourceAddress:
			ev.address = v.Str()
		case AttrUserAgent:
			ev.userAgent = v.Str()
		case AttrRequestPath:
			ev.path = v.Str()
		case AttrStatusCode:
			ev.status, ev.hasStatus = asInt(v)
		case AttrLat:
			ev.lat, hasLat = asFloat(v)
		case AttrLon:
			ev.lon, hasLon = asFloat(v)
		}
		return true
	})
	ev.hasGeo = hasLat && hasLon && ev.lat >= -90 && ev.lat <= 90 && ev.lon >= -180 && ev.lon <= 180
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	ev.time = int64(ts)
}

// isAudit: only audit records are evaluated; findings (ours or another
// instance's) and other event kinds pass through untouched.
func (ev *event) isAudit() bool {
	if ev.eventNameSet {
		return ev.eventName == AuditEventName
	}
	return ev.action != ""
}

func asInt(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return int64(v.Double()), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(v.Str(), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func asFloat(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(v.Str(), 64)
		return f, err == nil
	}
	return 0, false
}
