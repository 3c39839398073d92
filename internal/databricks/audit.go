package databricks

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditRow is one decoded row of system.access.audit (reference databricks.md §1.b).
type AuditRow struct {
	AccountID, WorkspaceID, Version, SourceIPAddress, UserAgent, SessionID, ServiceName,
	ActionName, RequestID, AuditLevel, EventID string
	EventTime    time.Time
	EventDate    string
	UserIdentity struct{ Email, SubjectName string }
	// Identity is identity_metadata: who ran a command vs. whose privileges it used.
	Identity      struct{ RunBy, RunAs string }
	RequestParams map[string]string
	Response      struct {
		StatusCode           *int
		ErrorMessage, Result string
	}
	// Raw is the whole row by column name with STRUCT/MAP/ARRAY columns decoded (integers
	// as int64, SQL NULL as nil): the log record Body.
	Raw map[string]any
}

// auditStructColumns are decoded even when the manifest gives no type, so a server that
// omits type_name still yields structured bodies.
var auditStructColumns = map[string]bool{
	"user_identity": true, "request_params": true, "response": true, "identity_metadata": true,
}

type auditDecoder struct {
	cols  []resultColumn
	index map[string]int
}

func newAuditDecoder(cols []resultColumn) *auditDecoder {
	return &auditDecoder{cols: cols, index: newColumnIndex(cols)}
}

// decode turns one row into an AuditRow. event_id and event_time are required (the
// receiver deduplicates and checkpoints on them); any STRUCT/MAP column that is not valid
// JSON makes the row bad rather than silently losing fields.
func (d *auditDecoder) decode(row []*string) (AuditRow, error) {
	v := rowView{index: d.index, row: row}
	var r AuditRow
	var err error
	if r.EventID, err = v.required("event_id"); err != nil {
		return AuditRow{}, err
	}
	if r.EventTime, err = v.requiredTime("event_time"); err != nil {
		return AuditRow{}, err
	}
	r.AccountID = v.str("account_id")
	r.WorkspaceID = v.str("workspace_id")
	r.Version = v.str("version")
	r.EventDate = v.str("event_date")
	r.SourceIPAddress = v.str("source_ip_address")
	r.UserAgent = v.str("user_agent")
	r.SessionID = v.str("session_id")
	r.ServiceName = v.str("service_name")
	r.ActionName = v.str("action_name")
	r.RequestID = v.str("request_id")
	r.AuditLevel = v.str("audit_level")

	if r.UserIdentity.Email, r.UserIdentity.SubjectName, err = decodeUserIdentity(v.value("user_identity")); err != nil {
		return AuditRow{}, err
	}
	identity, err := v.object("identity_metadata")
	if err != nil {
		return AuditRow{}, err
	}
	r.Identity.RunBy = stringOf(identity["run_by"])
	r.Identity.RunAs = stringOf(identity["run_as"])
	params, err := v.object("request_params")
	if err != nil {
		return AuditRow{}, err
	}
	r.RequestParams = stringMap(params)
	response, err := v.object("response")
	if err != nil {
		return AuditRow{}, err
	}
	if r.Response.StatusCode, err = statusCode(response["status_code"]); err != nil {
		return AuditRow{}, err
	}
	r.Response.ErrorMessage = stringOf(response["error_message"])
	r.Response.Result = stringOf(response["result"])

	r.Raw = d.raw(row, map[string]any{
		"identity_metadata": identity, "request_params": params, "response": response,
	})
	return r, nil
}

// raw builds the Body map, reusing the objects already decoded for the typed fields.
func (d *auditDecoder) raw(row []*string, decoded map[string]any) map[string]any {
	raw := make(map[string]any, len(d.cols))
	for i, c := range d.cols {
		if i >= len(row) || row[i] == nil {
			raw[c.Name] = nil
			continue
		}
		if obj, ok := decoded[c.Name]; ok {
			if m, isMap := obj.(map[string]any); isMap && m != nil {
				raw[c.Name] = m
				continue
			}
		}
		if auditStructColumns[c.Name] || isComplexType(c.TypeName) {
			var val any
			if err := decodeJSON(*row[i], &val); err == nil {
				raw[c.Name] = normalizeNumbers(val)
				continue
			}
		}
		raw[c.Name] = *row[i]
	}
	return raw
}

func isComplexType(typeName string) bool {
	switch strings.ToUpper(typeName) {
	case "STRUCT", "MAP", "ARRAY":
		return true
	}
	return false
}

// decodeUserIdentity accepts the current struct form and the early string form of the
// column (the schema changed; reference §1.b says to parse defensively).
func decodeUserIdentity(p *string) (email, subject string, err error) {
	if p == nil || *p == "" {
		return "", "", nil
	}
	if !strings.HasPrefix(strings.TrimSpace(*p), "{") {
		return *p, "", nil
	}
	obj, err := decodeJSONObject(*p)
	if err != nil {
		return "", "", fmt.Errorf("column user_identity: %w", err)
	}
	return stringOf(obj["email"]), stringOf(obj["subject_name"]), nil
}

// statusCode reads response.status_code, which arrives as a JSON number inside the struct
// or as a string when the field was selected on its own.
func statusCode(v any) (*int, error) {
	var n int64
	switch t := v.(type) {
	case nil:
		return nil, nil
	case int64:
		n = t
	case string:
		if t == "" {
			return nil, nil
		}
		parsed, err := strconv.ParseInt(strings.TrimSpace(t), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("column response: status_code is not an integer: %q", truncate(t))
		}
		n = parsed
	default:
		return nil, fmt.Errorf("column response: status_code is not an integer: %v", t)
	}
	if n < 0 || n > 999 {
		return nil, fmt.Errorf("column response: status_code out of range: %d", n)
	}
	code := int(n)
	return &code, nil
}
