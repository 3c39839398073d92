package auditlog

import (
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var errNoRecords = errors.New(`"records" is not an array`)

// ParseAzureRecord decodes one Azure Databricks diagnostic-log record (reference §1.c: the
// Azure Monitor resource-log envelope with Databricks fields under properties, where identity,
// requestParams and response may be JSON-encoded strings) into dst. On error dst holds a
// partial record and must be discarded.
func (p *Parser) ParseAzureRecord(record []byte, dst plog.LogRecord) (Resource, error) {
	body := dst.Body().SetEmptyMap()
	if err := p.dec.decodeObject(record, body); err != nil {
		return Resource{}, err
	}
	res := p.azureFromBody(body, dst)
	if p.StringBody {
		dst.Body().SetStr(bodyText(record))
	}
	return res, nil
}

// ParseAzureLine decodes one line of an Azure resource-log file, which is either one record
// (JSON Lines, the Storage archive form) or a {"records":[...]} envelope (the Event Hub form).
// newRecord is called for each record and returns the log record to fill. It returns how many
// records were emitted and, for an envelope, how many of its elements were not records.
func (p *Parser) ParseAzureLine(line []byte, newRecord func(Resource) plog.LogRecord, scratch plog.LogRecord) (emitted, rejected int, err error) {
	body := scratch.Body().SetEmptyMap()
	if err := p.dec.decodeObject(line, body); err != nil {
		return 0, 0, err
	}
	recs, isEnvelope := body.Get("records")
	if !isEnvelope || body.Len() != 1 {
		res := p.azureFromBody(body, scratch)
		if p.StringBody {
			scratch.Body().SetStr(bodyText(line))
		}
		scratch.MoveTo(newRecord(res))
		return 1, 0, nil
	}
	if recs.Type() != pcommon.ValueTypeSlice {
		return 0, 0, errNoRecords
	}
	s := recs.Slice()
	for i := 0; i < s.Len(); i++ {
		elem := s.At(i)
		if elem.Type() != pcommon.ValueTypeMap {
			rejected++
			continue
		}
		lr := plog.NewLogRecord()
		elem.Map().MoveTo(lr.Body().SetEmptyMap())
		res := p.azureFromBody(lr.Body().Map(), lr)
		if p.StringBody {
			lr.Body().SetStr(lr.Body().AsString()) // the record's own text is inside the envelope's
		}
		lr.MoveTo(newRecord(res))
		emitted++
	}
	return emitted, rejected, nil
}

func (p *Parser) azureFromBody(body pcommon.Map, dst plog.LogRecord) Resource {
	p.ev.reset()
	ev := &p.ev
	ev.Source = SourceAzureDiagnostics
	if t := str(body, "time"); t != "" {
		if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
			ev.Time = ts.UTC()
		}
	}
	props, _ := p.object(body.Get("properties"))
	// properties is decoded from the record itself, not the scratch map, unless it came as a
	// string; copy it out of the scratch map before the next p.object call reuses it.
	if props == p.scratch {
		owned := pcommon.NewMap()
		props.CopyTo(owned)
		props = owned
	}
	if props == (pcommon.Map{}) {
		props = pcommon.NewMap()
	}
	ev.ServiceName = str(props, "serviceName")
	ev.ActionName = str(props, "actionName")
	op := str(body, "operationName")
	if ev.ServiceName == "" {
		ev.ServiceName = str(body, "category")
	}
	if ev.ServiceName == "" || ev.ActionName == "" {
		// operationName is Microsoft.Databricks/<service>/<action>.
		if parts := strings.Split(op, "/"); len(parts) == 3 {
			if ev.ServiceName == "" {
				ev.ServiceName = parts[1]
			}
			if ev.ActionName == "" {
				ev.ActionName = parts[2]
			}
		}
	}
	ev.RequestID = str(props, "requestId")
	ev.SessionID = str(props, "sessionId")
	ev.SourceIP = strAny(props, "sourceIPAddress", "sourceIpAddress")
	ev.UserAgent = str(props, "userAgent")
	ev.AuditLevel = str(props, "auditLevel")
	ev.WorkspaceID = strAny(props, "workspaceId", "orgId")
	ev.AccountID = str(props, "accountId")
	if id, ok := p.object(getAny(body, "identity", "Identity")); ok {
		ev.Email = str(id, "email")
	}
	if params, ok := p.object(props.Get("requestParams")); ok {
		p.readParams(params)
	}
	if resp, ok := p.object(props.Get("response")); ok {
		p.readResponse(resp)
	}
	if md, ok := p.object(getAny(props, "identityMetadata", "identity_metadata")); ok {
		p.readIdentityMetadata(md)
	}
	p.finish(dst)
	return Resource{
		WorkspaceID:     ev.WorkspaceID,
		AccountID:       ev.AccountID,
		CloudProvider:   CloudAzure,
		CloudResourceID: str(body, "resourceId"),
	}
}
