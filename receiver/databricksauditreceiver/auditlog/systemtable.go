package auditlog

import (
	"encoding/json"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// AuditRowRecord normalises a decoded system.access.audit row into dst (Body = the whole row,
// structs and maps decoded, or with stringBody the row as JSON text) and returns its resource.
// cloudProvider is set on the resource when not empty (the receiver derives it from the
// workspace URL).
func AuditRowRecord(row *databricks.AuditRow, cloudProvider string, observed time.Time, stringBody bool, dst plog.LogRecord) Resource {
	ev := eventFromRow(row)
	if row.Raw != nil && stringBody {
		text, err := json.Marshal(row.Raw)
		if err != nil {
			text = []byte(err.Error()) // as below: Raw holds only JSON-like values
		}
		dst.Body().SetStr(bodyText(text))
	} else if row.Raw != nil {
		if err := dst.Body().SetEmptyMap().FromRaw(row.Raw); err != nil {
			// Raw holds only JSON-like values, so this is unreachable in practice; the record
			// still carries every field as attributes.
			dst.Body().SetStr(err.Error())
		}
	}
	ev.writeAttributes(dst, observed, nil)
	return Resource{WorkspaceID: ev.WorkspaceID, AccountID: ev.AccountID, CloudProvider: cloudProvider}
}

// AppendAuditRow normalises a system.access.audit row into the batch; the batch's parser
// supplies cloud.provider and the observed time.
func (b *Batch) AppendAuditRow(row *databricks.AuditRow) {
	b.scratch.Attributes().Clear()
	res := AuditRowRecord(row, b.parser.CloudProvider, b.parser.now(), b.parser.StringBody, b.scratch)
	b.scratch.MoveTo(b.NewRecord(res))
}

func eventFromRow(row *databricks.AuditRow) *Event {
	ev := &Event{
		Source:      SourceSystemTable,
		Time:        row.EventTime,
		EventID:     row.EventID,
		WorkspaceID: row.WorkspaceID,
		AccountID:   row.AccountID,
		AuditLevel:  row.AuditLevel,
		ServiceName: row.ServiceName,
		ActionName:  row.ActionName,
		RequestID:   row.RequestID,
		SessionID:   row.SessionID,
		Email:       row.UserIdentity.Email,
		RunBy:       row.Identity.RunBy,
		RunAs:       row.Identity.RunAs,
		SourceIP:    row.SourceIPAddress,
		UserAgent:   row.UserAgent,
		ErrorMsg:    row.Response.ErrorMessage,
		Result:      row.Response.Result,
	}
	if row.Response.StatusCode != nil {
		ev.StatusCode, ev.HasStatus = *row.Response.StatusCode, true
	}
	// A map has no order; sorting keeps the attribute order (and golden files) stable.
	keys := make([]string, 0, len(row.RequestParams))
	for k := range row.RequestParams {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ev.Params = make([]Param, 0, len(keys))
	for _, k := range keys {
		ev.Params = append(ev.Params, Param{Key: k, Value: row.RequestParams[k]})
	}
	return ev
}
