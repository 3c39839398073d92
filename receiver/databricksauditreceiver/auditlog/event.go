package auditlog

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Event is an audit event in source-neutral form: what every source is decoded into before the
// one normaliser (writeAttributes) turns it into log record attributes.
type Event struct {
	Source      Source
	Time        time.Time
	EventID     string // empty: derived from the record's content (see eventID)
	WorkspaceID string
	AccountID   string
	AuditLevel  string
	ServiceName string
	ActionName  string
	RequestID   string
	SessionID   string
	Email       string
	RunBy       string
	RunAs       string
	SourceIP    string
	UserAgent   string
	StatusCode  int
	HasStatus   bool
	ErrorMsg    string
	Result      string
	Params      []Param // in record order

	hashBuf []byte // eventID's scratch, kept across records
}

// Param is one request parameter, its value as a string (non-string values JSON-encoded).
type Param struct {
	Key, Value string
}

// Resource identifies the ResourceLogs a record belongs to.
type Resource struct {
	WorkspaceID   string
	AccountID     string
	CloudProvider string
	// CloudResourceID is the Azure ARM id of the workspace (Azure diagnostic records only).
	CloudResourceID string
}

// CopyTo writes the resource attributes that are set.
func (r Resource) CopyTo(attrs pcommon.Map) {
	putNonEmpty(attrs, ResAttrWorkspaceID, r.WorkspaceID)
	putNonEmpty(attrs, ResAttrAccountID, r.AccountID)
	putNonEmpty(attrs, ResAttrCloudProvider, r.CloudProvider)
	putNonEmpty(attrs, ResAttrCloudResourceID, r.CloudResourceID)
}

func (e *Event) reset() {
	*e = Event{Params: e.Params[:0], hashBuf: e.hashBuf}
}

func (e *Event) param(key string) string {
	for i := range e.Params {
		if e.Params[i].Key == key {
			return e.Params[i].Value
		}
	}
	return ""
}

// writeAttributes is the normaliser: the one place that maps an Event onto DESIGN §3.1.
// The Body is set by the caller (it is the original record, in whatever form it came).
func (e *Event) writeAttributes(lr plog.LogRecord, observed time.Time, names *nameCache) {
	if !e.Time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	if e.HasStatus && e.StatusCode >= 400 {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
	} else {
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	lr.SetEventName(EventName)

	attrs := lr.Attributes()
	attrs.EnsureCapacity(e.attributeCount())
	attrs.PutStr(AttrEventName, EventName)
	attrs.PutStr(AttrAuditSource, string(e.Source))
	attrs.PutStr(AttrServiceName, e.ServiceName)
	attrs.PutStr(AttrActionName, e.ActionName)
	if e.EventID == "" {
		e.EventID = eventID(e)
	}
	attrs.PutStr(AttrEventID, e.EventID)
	putNonEmpty(attrs, AttrRequestID, e.RequestID)
	putNonEmpty(attrs, AttrSessionID, e.SessionID)
	putNonEmpty(attrs, AttrAuditLevel, e.AuditLevel)
	putNonEmpty(attrs, AttrUserEmail, e.Email)
	attrs.PutStr(AttrIdentityType, IdentityType(e.Email))
	putNonEmpty(attrs, AttrIdentityRunBy, e.RunBy)
	putNonEmpty(attrs, AttrIdentityRunAs, e.RunAs)
	putNonEmpty(attrs, AttrSourceAddress, StripPort(e.SourceIP))
	putNonEmpty(attrs, AttrUserAgent, e.UserAgent)
	if e.HasStatus {
		attrs.PutInt(AttrStatusCode, int64(e.StatusCode))
	}
	putNonEmpty(attrs, AttrErrorMessage, e.ErrorMsg)
	putNonEmpty(attrs, AttrResult, e.Result)
	if typ, name := objectOf(e); name != "" {
		attrs.PutStr(AttrObjectType, typ)
		attrs.PutStr(AttrObjectName, name)
	}
	for i := range e.Params {
		attrs.PutStr(names.paramAttr(e.Params[i].Key), e.Params[i].Value)
	}
}

// attributeCount is the number of attributes writeAttributes sets, so that the map is
// allocated once at its final size.
func (e *Event) attributeCount() int {
	n := 6 + len(e.Params) // event.name, source, service, action, event id, identity type
	for _, v := range [...]string{e.RequestID, e.SessionID, e.AuditLevel, e.Email, e.RunBy, e.RunAs,
		e.SourceIP, e.UserAgent, e.ErrorMsg, e.Result} {
		if v != "" {
			n++
		}
	}
	if e.HasStatus {
		n++
	}
	return n + 2 // object type and name
}

func putNonEmpty(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}

// parseStatus accepts the status code as the JSON number of delivery files or the string of
// the system table's JSON_ARRAY results.
func parseStatus(v pcommon.Value) (int, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return int(v.Int()), true
	case pcommon.ValueTypeDouble:
		return int(v.Double()), true
	case pcommon.ValueTypeStr:
		n, err := strconv.Atoi(v.Str())
		return n, err == nil
	}
	return 0, false
}
