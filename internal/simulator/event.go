package simulator

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// Audit levels as Databricks writes them.
const (
	WorkspaceLevel = "WORKSPACE_LEVEL"
	AccountLevel   = "ACCOUNT_LEVEL"
)

// SystemUser is the identity Databricks attributes automated actions to.
const SystemUser = "System-User"

// AuditEvent is one generated audit event. It renders itself in each of the forms a customer can
// receive: a delivery-file line, a system.access.audit row and an Azure diagnostic record.
type AuditEvent struct {
	Time          time.Time         // event time, millisecond precision, UTC
	WorkspaceID   string            // "0" for account-level events
	OrgID         string            // the workspace the request came through (delivery `orgId`)
	AccountID     string            //
	ShardName     string            //
	AuditLevel    string            // WORKSPACE_LEVEL / ACCOUNT_LEVEL
	ServiceName   string            //
	ActionName    string            //
	Email         string            // userIdentity.email: e-mail, SP application id, System-User
	SubjectName   string            // usually empty (null)
	SourceIP      string            // may carry ":port"; empty for internal calls
	UserAgent     string            //
	SessionID     string            // empty = null
	RequestID     string            //
	RequestParams map[string]string //
	StatusCode    int               //
	ErrorMessage  string            // empty = null
	Result        string            // empty = null
	RunBy, RunAs  string            // identity_metadata; empty = null
	EventID       string            // system table event_id
	// DeliverAt is when the event lands in a delivery object; later than the object's first
	// write for late events, which makes the object be rewritten with extra lines.
	DeliverAt time.Time
	// Attack is the rule id of the attack that produced the event, empty for normal behaviour.
	// It is never rendered: tests use it to relate events to the ground truth.
	Attack string
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// deliveryLine is the camelCase delivery schema, in the field order Databricks writes.
type deliveryLine struct {
	Version          string            `json:"version"`
	AuditLevel       string            `json:"auditLevel"`
	Timestamp        int64             `json:"timestamp"`
	OrgID            string            `json:"orgId"`
	ShardName        string            `json:"shardName"`
	AccountID        string            `json:"accountId"`
	SourceIPAddress  any               `json:"sourceIPAddress"`
	UserAgent        any               `json:"userAgent"`
	SessionID        any               `json:"sessionId"`
	UserIdentity     identityCamel     `json:"userIdentity"`
	ServiceName      string            `json:"serviceName"`
	ActionName       string            `json:"actionName"`
	RequestID        string            `json:"requestId"`
	RequestParams    map[string]string `json:"requestParams"`
	Response         responseCamel     `json:"response"`
	MaxLogMessageLen int               `json:"MAX_LOG_MESSAGE_LENGTH"`
}

type identityCamel struct {
	Email       string `json:"email"`
	SubjectName any    `json:"subjectName"`
}

type responseCamel struct {
	StatusCode   int `json:"statusCode"`
	ErrorMessage any `json:"errorMessage"`
	Result       any `json:"result"`
}

func marshalNoEscape(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain strings, numbers and maps: cannot fail
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func (e *AuditEvent) params() map[string]string {
	if e.RequestParams == nil {
		return map[string]string{}
	}
	return e.RequestParams
}

// DeliveryLine renders the event as one line of an audit-log delivery file (no newline).
func (e *AuditEvent) DeliveryLine() []byte {
	return marshalNoEscape(deliveryLine{
		Version:          "2.0",
		AuditLevel:       e.AuditLevel,
		Timestamp:        e.Time.UnixMilli(),
		OrgID:            e.OrgID,
		ShardName:        e.ShardName,
		AccountID:        e.AccountID,
		SourceIPAddress:  nullable(e.SourceIP),
		UserAgent:        nullable(e.UserAgent),
		SessionID:        nullable(e.SessionID),
		UserIdentity:     identityCamel{Email: e.Email, SubjectName: nullable(e.SubjectName)},
		ServiceName:      e.ServiceName,
		ActionName:       e.ActionName,
		RequestID:        e.RequestID,
		RequestParams:    e.params(),
		Response:         responseCamel{StatusCode: e.StatusCode, ErrorMessage: nullable(e.ErrorMessage), Result: nullable(e.Result)},
		MaxLogMessageLen: 16384,
	})
}

// SourceAddress is the client IP without a port suffix.
func (e *AuditEvent) SourceAddress() string {
	ip := e.SourceIP
	if i := strings.LastIndexByte(ip, ':'); i >= 0 && strings.Count(ip, ":") == 1 {
		ip = ip[:i]
	}
	return ip
}

// SystemTableRow renders the event as a system.access.audit row keyed by column name, with the
// column types of the real table: time.Time for TIMESTAMP, civil-date strings for DATE, ordered
// structs as []Field, maps as map[string]string and SQL NULL as nil.
func (e *AuditEvent) SystemTableRow() map[string]any {
	row := map[string]any{}
	for i, c := range auditColumns {
		row[c.Name] = e.column(i)
	}
	return row
}

// column returns the value of auditColumns[i].
func (e *AuditEvent) column(i int) any {
	switch auditColumns[i].Name {
	case "account_id":
		return e.AccountID
	case "workspace_id":
		return e.WorkspaceID
	case "version":
		return "2.0"
	case "event_time":
		return e.Time
	case "event_date":
		return Date(e.Time.UTC().Format(time.DateOnly))
	case "source_ip_address":
		return nullable(e.SourceIP)
	case "user_agent":
		return nullable(e.UserAgent)
	case "session_id":
		return nullable(e.SessionID)
	case "user_identity":
		return Struct{{"email", e.Email}, {"subject_name", nullable(e.SubjectName)}}
	case "service_name":
		return e.ServiceName
	case "action_name":
		return e.ActionName
	case "request_id":
		return e.RequestID
	case "request_params":
		return e.params()
	case "response":
		return Struct{{"status_code", int64(e.StatusCode)}, {"error_message", nullable(e.ErrorMessage)}, {"result", nullable(e.Result)}}
	case "audit_level":
		return e.AuditLevel
	case "event_id":
		return e.EventID
	case "identity_metadata":
		return Struct{{"run_by", nullable(e.RunBy)}, {"run_as", nullable(e.RunAs)}}
	}
	return nil
}

// azureRecord is one record of the Azure Monitor resource-log envelope.
type azureRecord struct {
	Time             string          `json:"time"`
	ResourceID       string          `json:"resourceId"`
	Category         string          `json:"category"`
	OperationName    string          `json:"operationName"`
	OperationVersion string          `json:"operationVersion"`
	Identity         any             `json:"identity"`
	Properties       azureProperties `json:"properties"`
}

type azureProperties struct {
	SourceIPAddress any    `json:"sourceIPAddress"`
	LogID           string `json:"logId"`
	ServiceName     string `json:"serviceName"`
	UserAgent       any    `json:"userAgent"`
	Response        any    `json:"response"`
	SessionID       any    `json:"sessionId"`
	ActionName      string `json:"actionName"`
	RequestID       string `json:"requestId"`
	RequestParams   any    `json:"requestParams"`
}

// AzureResourceID is the ARM id of the simulated workspace.
func AzureResourceID(ws WorkspaceSpec) string {
	return "/SUBSCRIPTIONS/" + strings.ToUpper(stableUUID("subscription", ws.AccountID)) +
		"/RESOURCEGROUPS/RG-DATABRICKS/PROVIDERS/MICROSOFT.DATABRICKS/WORKSPACES/" + strings.ToUpper(ws.Name)
}

// AzureRecord renders the event as an Azure diagnostic-settings record. Most records carry
// identity, requestParams and response as JSON-encoded strings, as Event Hub payloads usually do;
// objectStyle renders them as objects, the other shape seen in the wild.
func (e *AuditEvent) AzureRecord(resourceID string, objectStyle bool) []byte {
	identity := identityCamel{Email: e.Email, SubjectName: nullable(e.SubjectName)}
	resp := map[string]any{"statusCode": e.StatusCode}
	if e.ErrorMessage != "" {
		resp["errorMessage"] = e.ErrorMessage
	}
	if e.Result != "" {
		resp["result"] = e.Result
	}
	rec := azureRecord{
		Time:             e.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		ResourceID:       resourceID,
		Category:         e.ServiceName,
		OperationName:    "Microsoft.Databricks/" + e.ServiceName + "/" + e.ActionName,
		OperationVersion: "1.0.0",
		Properties: azureProperties{
			SourceIPAddress: nullable(e.SourceIP),
			LogID:           stableUUID("logid", e.EventID),
			ServiceName:     e.ServiceName,
			UserAgent:       nullable(e.UserAgent),
			SessionID:       nullable(e.SessionID),
			ActionName:      e.ActionName,
			RequestID:       e.RequestID,
		},
	}
	if objectStyle {
		rec.Identity = identity
		rec.Properties.RequestParams = e.params()
		rec.Properties.Response = resp
	} else {
		rec.Identity = string(marshalNoEscape(identity))
		rec.Properties.RequestParams = string(marshalNoEscape(e.params()))
		rec.Properties.Response = string(marshalNoEscape(resp))
	}
	return marshalNoEscape(rec)
}
