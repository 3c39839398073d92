package auditlog

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Parser decodes audit records of the file-based forms into log records. It keeps its buffers
// between records, so it is not safe for concurrent use; use one per goroutine.
type Parser struct {
	// CloudProvider is set as cloud.provider on every record's resource ("" = not set). The
	// receiver derives it from the bucket scheme (s3 -> aws, gs -> gcp, azblob -> azure).
	CloudProvider string
	// Now gives the observed timestamp; nil means time.Now.
	Now func() time.Time
	// StringBody makes the Body the record as JSON text instead of a map (the receiver's
	// body_format: string): for a delivery line or an Azure JSON Lines record the text as read,
	// otherwise the record re-encoded. The attributes are the same either way.
	StringBody bool

	dec     *decoder
	names   *nameCache
	ev      Event
	scratch pcommon.Map // JSON-encoded sub-documents (Azure identity, requestParams, response)
}

// NewParser returns a Parser with empty caches.
func NewParser() *Parser {
	return &Parser{dec: newDecoder(), names: newNameCache(), scratch: pcommon.NewMap()}
}

func (p *Parser) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// finish runs the normaliser on the decoded event.
func (p *Parser) finish(lr plog.LogRecord) {
	p.ev.writeAttributes(lr, p.now(), p.names)
}

// str reads a scalar field defensively: older schema versions carried some ids as numbers.
func str(m pcommon.Map, key string) string {
	v, ok := m.Get(key)
	if !ok {
		return ""
	}
	return scalarString(v)
}

func scalarString(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return v.AsString()
	}
	return ""
}

// paramString renders a request parameter value as the attribute value: strings as they are,
// anything else JSON-encoded (pdata's AsString encodes maps and slices as JSON).
func paramString(v pcommon.Value) (string, bool) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return "", false
	case pcommon.ValueTypeStr:
		return v.Str(), true
	}
	return v.AsString(), true
}

// object returns the map held by v, decoding it into p.scratch when the source JSON-encoded it
// as a string (Azure does this for identity, requestParams and response). The scratch map is
// overwritten by the next call.
func (p *Parser) object(v pcommon.Value, ok bool) (pcommon.Map, bool) {
	if !ok {
		return pcommon.Map{}, false
	}
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return v.Map(), true
	case pcommon.ValueTypeStr:
		if s := v.Str(); len(s) > 0 && s[0] == '{' {
			if err := p.dec.decodeObjectString(s, p.scratch); err == nil {
				return p.scratch, true
			}
		}
	}
	return pcommon.Map{}, false
}

func (p *Parser) readParams(m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		if s, ok := paramString(v); ok {
			p.ev.Params = append(p.ev.Params, Param{Key: k, Value: s})
		}
		return true
	})
}

func (p *Parser) readResponse(m pcommon.Map) {
	if v, ok := getAny(m, "statusCode", "status_code"); ok {
		p.ev.StatusCode, p.ev.HasStatus = parseStatus(v)
	}
	p.ev.ErrorMsg = strAny(m, "errorMessage", "error_message")
	p.ev.Result = str(m, "result")
}

func (p *Parser) readIdentityMetadata(m pcommon.Map) {
	p.ev.RunBy = strAny(m, "runBy", "run_by")
	p.ev.RunAs = strAny(m, "runAs", "run_as")
}

func getAny(m pcommon.Map, keys ...string) (pcommon.Value, bool) {
	for _, k := range keys {
		if v, ok := m.Get(k); ok && v.Type() != pcommon.ValueTypeEmpty {
			return v, true
		}
	}
	return pcommon.Value{}, false
}

func strAny(m pcommon.Map, keys ...string) string {
	if v, ok := getAny(m, keys...); ok {
		return scalarString(v)
	}
	return ""
}

// epochMillis reads an epoch-milliseconds timestamp given as a number or a numeric string.
func epochMillis(v pcommon.Value) (time.Time, bool) {
	var ms int64
	switch v.Type() {
	case pcommon.ValueTypeInt:
		ms = v.Int()
	case pcommon.ValueTypeDouble:
		ms = int64(v.Double())
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(v.Str(), 10, 64)
		if err != nil {
			t, err := time.Parse(time.RFC3339Nano, v.Str())
			return t.UTC(), err == nil
		}
		ms = n
	default:
		return time.Time{}, false
	}
	if ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}
