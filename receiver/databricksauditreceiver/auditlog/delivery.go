package auditlog

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// ParseDeliveryLine decodes one line of an audit-log delivery object (reference §1.a: one JSON
// object per line, camelCase fields, version "2.0") into dst and returns the resource the
// record belongs to. workspaceID is the workspaceId=<id> partition of the object's path, which
// is authoritative; when it is empty the line's orgId stands in. dst's Body becomes the line as
// a map, or with StringBody the line's text. On error dst holds a partial record and must be
// discarded.
func (p *Parser) ParseDeliveryLine(line []byte, workspaceID string, dst plog.LogRecord) (Resource, error) {
	if p.StringBody {
		return p.parseDeliveryLineText(line, workspaceID, dst)
	}
	body := dst.Body().SetEmptyMap()
	if err := p.dec.decodeObject(line, body); err != nil {
		return Resource{}, err
	}
	p.ev.reset()
	ev := &p.ev
	ev.Source = SourceDelivery

	// One pass over the Body's keys instead of a lookup (a linear scan) per field. The keys of a
	// decoded map are unique, so this reads the same values as looking each one up.
	var orgID string
	var timestamp, identity, params, response, metadata, metadataSnake valueRef
	body.Range(func(k string, v pcommon.Value) bool {
		if field := ev.deliveryScalar(k); field != nil {
			*field = scalarString(v)
			return true
		}
		switch k {
		case "timestamp":
			timestamp = valueRef{v, true}
		case "orgId":
			orgID = scalarString(v)
		case "userIdentity":
			identity = valueRef{v, true}
		case "requestParams":
			params = valueRef{v, true}
		case "response":
			response = valueRef{v, true}
		case "identityMetadata":
			metadata = valueRef{v, v.Type() != pcommon.ValueTypeEmpty}
		case "identity_metadata":
			metadataSnake = valueRef{v, v.Type() != pcommon.ValueTypeEmpty}
		}
		return true
	})
	if timestamp.ok {
		ev.Time, _ = epochMillis(timestamp.v)
	}
	ev.WorkspaceID = workspaceID
	if ev.WorkspaceID == "" {
		ev.WorkspaceID = orgID
	}
	// In this order: p.object reuses one scratch map for JSON-encoded sub-documents.
	if id, ok := p.object(identity.v, identity.ok); ok {
		ev.Email = str(id, "email")
	}
	if m, ok := p.object(params.v, params.ok); ok {
		p.readParams(m)
	}
	if m, ok := p.object(response.v, response.ok); ok {
		p.readResponse(m)
	}
	if !metadata.ok {
		metadata = metadataSnake
	}
	if m, ok := p.object(metadata.v, metadata.ok); ok {
		p.readIdentityMetadata(m)
	}
	p.finish(dst)
	return Resource{WorkspaceID: ev.WorkspaceID, AccountID: ev.AccountID, CloudProvider: p.CloudProvider}, nil
}

// deliveryScalar returns the Event field that a delivery line's top-level key sets from a
// scalar value, or nil for any other key.
func (e *Event) deliveryScalar(key string) *string {
	switch key {
	case "accountId":
		return &e.AccountID
	case "auditLevel":
		return &e.AuditLevel
	case "serviceName":
		return &e.ServiceName
	case "actionName":
		return &e.ActionName
	case "requestId":
		return &e.RequestID
	case "sessionId":
		return &e.SessionID
	case "sourceIPAddress":
		return &e.SourceIP
	case "userAgent":
		return &e.UserAgent
	}
	return nil
}

// valueRef is a value found in a map, or not (pcommon's zero Value must not be used).
type valueRef struct {
	v  pcommon.Value
	ok bool
}
