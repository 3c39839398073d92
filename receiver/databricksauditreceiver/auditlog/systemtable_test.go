package auditlog

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// referenceColumns is the column order of the example rows in reference §1.b.
var referenceColumns = []string{
	"event_id", "event_time", "workspace_id", "account_id", "audit_level", "service_name", "action_name",
	"email", "subject_name", "source_ip_address", "user_agent", "session_id", "request_id", "request_params",
	"status_code", "error_message", "result", "run_by", "run_as",
}

// referenceRows decodes the JSON_ARRAY example rows of reference §1.b the way the client
// does: typed fields plus Raw, the row as a map.
func referenceRows(t *testing.T) []databricks.AuditRow {
	t.Helper()
	data, err := os.ReadFile("testdata/systemtable_rows.json")
	require.NoError(t, err)
	var arrays [][]*string
	require.NoError(t, json.Unmarshal(data, &arrays))
	var rows []databricks.AuditRow
	for _, values := range arrays {
		v := map[string]string{}
		raw := map[string]any{}
		for i, col := range referenceColumns {
			if values[i] == nil {
				raw[col] = nil
				continue
			}
			v[col] = *values[i]
			raw[col] = *values[i]
		}
		var r databricks.AuditRow
		r.EventID, r.WorkspaceID, r.AccountID, r.AuditLevel = v["event_id"], v["workspace_id"], v["account_id"], v["audit_level"]
		r.ServiceName, r.ActionName, r.SourceIPAddress, r.UserAgent = v["service_name"], v["action_name"], v["source_ip_address"], v["user_agent"]
		r.SessionID, r.RequestID = v["session_id"], v["request_id"]
		r.EventTime, err = time.Parse(time.RFC3339Nano, v["event_time"])
		require.NoError(t, err)
		r.UserIdentity.Email = v["email"]
		r.Identity.RunBy, r.Identity.RunAs = v["run_by"], v["run_as"]
		require.NoError(t, json.Unmarshal([]byte(v["request_params"]), &r.RequestParams))
		var params map[string]any
		require.NoError(t, json.Unmarshal([]byte(v["request_params"]), &params))
		raw["request_params"] = params
		if s, ok := v["status_code"]; ok {
			n, err := strconv.Atoi(s)
			require.NoError(t, err)
			r.Response.StatusCode = &n
		}
		r.Response.ErrorMessage, r.Response.Result = v["error_message"], v["result"]
		r.Raw = raw
		rows = append(rows, r)
	}
	return rows
}

func TestSystemTableGolden(t *testing.T) {
	p := fixedParser(CloudAWS)
	b := NewBatch(p, "test", "")
	rows := referenceRows(t)
	require.Len(t, rows, 4)
	for i := range rows {
		b.AppendAuditRow(&rows[i])
	}
	assertGolden(t, "systemtable.json", b.Take())
}

func TestAuditRowRecordSchema(t *testing.T) {
	rows := referenceRows(t)
	lr := plog.NewLogRecord()
	res := AuditRowRecord(&rows[3], CloudAzure, observed, false, lr)
	assert.Equal(t, Resource{WorkspaceID: "4839201746501234", AccountID: "0b6f3a7e-1c2d-4e5f-8a9b-112233445566", CloudProvider: CloudAzure}, res)
	assert.Equal(t, time.Date(2025, 1, 1, 10, 9, 59, 900_000_000, time.UTC), lr.Timestamp().AsTime())
	assert.Equal(t, "INFO", lr.SeverityText())
	want := map[string]any{
		AttrEventName:                         EventName,
		AttrAuditSource:                       "system_table",
		AttrEventID:                           "aa11bb22cc33dd44ee55ff6677889900",
		AttrServiceName:                       "notebook",
		AttrActionName:                        "runCommand",
		AttrRequestID:                         "req-4",
		AttrSessionID:                         "s-789",
		AttrAuditLevel:                        "WORKSPACE_LEVEL",
		AttrUserEmail:                         "dave@example.com",
		AttrIdentityType:                      IdentityUser,
		AttrIdentityRunBy:                     "dave@example.com",
		AttrIdentityRunAs:                     "data-eng-group",
		AttrSourceAddress:                     "10.1.2.3",
		AttrUserAgent:                         "Mozilla/5.0",
		AttrStatusCode:                        int64(200),
		AttrObjectType:                        "notebook",
		AttrObjectName:                        "3141592653589793",
		AttrRequestParamPrefix + "notebookId": "3141592653589793",
		AttrRequestParamPrefix + "commandId":  "8d3e...",
		AttrRequestParamPrefix + "commandLanguage": "python",
		AttrRequestParamPrefix + "commandText":     "print(dbutils.secrets.get('prod-db','admin-password'))",
		AttrRequestParamPrefix + "executionTime":   "0.42",
		AttrRequestParamPrefix + "status":          "finished",
	}
	assert.Equal(t, want, lr.Attributes().AsRaw())
	assert.Equal(t, "python", lr.Body().Map().AsRaw()["request_params"].(map[string]any)["commandLanguage"])
}
