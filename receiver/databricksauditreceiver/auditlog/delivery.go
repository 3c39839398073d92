package auditlog

import (
	"go.opentelemetry.io/collector/pdata/plog"
)

// ParseDeliveryLine decodes one line of an audit-log delivery object (reference §1.a: one JSON
// object per line, camelCase fields, version "2.0") into dst and returns the resource the
// record belongs to. workspaceID is the workspaceId=<id> partition of the object's path, which
// is authoritative; when it is empty the line's orgId stands in. dst's Body becomes the line as
// a map. On error dst holds a partial record and must be discarded.
func (p *Parser) ParseDeliveryLine(line []byte, workspaceID string, dst plog.LogRecord) (Resource, error) {
	body := dst.Body().SetEmptyMap()
	if err := p.dec.decodeObject(line, body); err != nil {
		return Resource{}, err
	}
	p.ev.reset()
	ev := &p.ev
	ev.Source = SourceDelivery
	if v, ok := body.Get("timestamp"); ok {
		ev.Time, _ = epochMillis(v)
	}
	ev.WorkspaceID = workspaceID
	if ev.WorkspaceID == "" {
		ev.WorkspaceID = str(body, "orgId")
	}
	ev.AccountID = str(body, "accountId")
	ev.AuditLevel = str(body, "auditLevel")
	ev.ServiceName = str(body, "serviceName")
	ev.ActionName = str(body, "actionName")
	ev.RequestID = str(body, "requestId")
	ev.SessionID = str(body, "sessionId")
	ev.SourceIP = str(body, "sourceIPAddress")
	ev.UserAgent = str(body, "userAgent")
	if id, ok := p.object(body.Get("userIdentity")); ok {
		ev.Email = str(id, "email")
	}
	if params, ok := p.object(body.Get("requestParams")); ok {
		p.readParams(params)
	}
	if resp, ok := p.object(body.Get("response")); ok {
		p.readResponse(resp)
	}
	if md, ok := p.object(getAny(body, "identityMetadata", "identity_metadata")); ok {
		p.readIdentityMetadata(md)
	}
	p.finish(dst)
	return Resource{WorkspaceID: ev.WorkspaceID, AccountID: ev.AccountID, CloudProvider: p.CloudProvider}, nil
}
