package auditlog

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/logsgolden"
)

var update = flag.Bool("update", false, "rewrite golden files")

var observed = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func fixedParser(cloud string) *Parser {
	p := NewParser()
	p.CloudProvider = cloud
	p.Now = func() time.Time { return observed }
	return p
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	require.NoError(t, sc.Err())
	return lines
}

func assertGolden(t *testing.T, name string, actual plog.Logs) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, logsgolden.WriteLogs(path, actual))
	}
	expected, err := logsgolden.ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, logsgolden.CompareLogs(expected, actual))
}

func TestDeliveryGolden(t *testing.T) {
	b := NewBatch(fixedParser(CloudAWS), "test", "")
	for _, line := range readLines(t, "testdata/delivery_reference.jsonl") {
		require.NoError(t, b.AppendDeliveryLine(line, "4839201746501234"))
	}
	require.Equal(t, 7, b.Len())
	ld := b.Take()
	assert.Equal(t, 0, b.Len(), "Take empties the batch")
	assertGolden(t, "delivery.json", ld)
}

func TestAzureGolden(t *testing.T) {
	// The Event Hub envelope and the Storage JSON-lines form carry the same records, and must
	// give the same log records.
	for _, file := range []string{"azure_envelope.json", "azure_records.jsonl"} {
		t.Run(file, func(t *testing.T) {
			b := NewBatch(fixedParser(""), "test", "")
			for _, line := range readLines(t, filepath.Join("testdata", file)) {
				_, rejected, err := b.AppendAzureLine(line)
				require.NoError(t, err)
				require.Zero(t, rejected)
			}
			require.Equal(t, 4, b.Len())
			assertGolden(t, "azure.json", b.Take())
		})
	}
}

// record parses one delivery line and returns the record and its resource.
func record(t *testing.T, line string) (plog.LogRecord, Resource) {
	t.Helper()
	lr := plog.NewLogRecord()
	res, err := fixedParser(CloudAWS).ParseDeliveryLine([]byte(line), "123", lr)
	require.NoError(t, err)
	return lr, res
}

func attr(t *testing.T, lr plog.LogRecord, key string) any {
	t.Helper()
	v, ok := lr.Attributes().Get(key)
	if !ok {
		return nil
	}
	return v.AsRaw()
}

func TestDeliveryLineSchema(t *testing.T) {
	lr, res := record(t, `{"version":"2.0","auditLevel":"WORKSPACE_LEVEL","timestamp":1735726011789,"orgId":"999","accountId":"acc-1",`+
		`"sourceIPAddress":"198.51.100.77:0","userAgent":"curl/8","sessionId":"s-1","userIdentity":{"email":"mallory@example.com","subjectName":null},`+
		`"serviceName":"secrets","actionName":"getSecret","requestId":"r-1","requestParams":{"scope":"prod-db","key":"admin-password"},`+
		`"response":{"statusCode":403,"errorMessage":"denied","result":null},"identityMetadata":{"runBy":"a@example.com","runAs":"b@example.com"}}`)

	assert.Equal(t, Resource{WorkspaceID: "123", AccountID: "acc-1", CloudProvider: CloudAWS}, res, "path workspace id wins over orgId")
	assert.Equal(t, time.UnixMilli(1735726011789).UTC(), lr.Timestamp().AsTime())
	assert.Equal(t, observed, lr.ObservedTimestamp().AsTime())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, "WARN", lr.SeverityText())
	assert.Equal(t, EventName, lr.EventName())
	want := map[string]any{
		AttrEventName:                    EventName,
		AttrAuditSource:                  "delivery",
		AttrServiceName:                  "secrets",
		AttrActionName:                   "getSecret",
		AttrRequestID:                    "r-1",
		AttrSessionID:                    "s-1",
		AttrAuditLevel:                   "WORKSPACE_LEVEL",
		AttrUserEmail:                    "mallory@example.com",
		AttrIdentityType:                 IdentityUser,
		AttrIdentityRunBy:                "a@example.com",
		AttrIdentityRunAs:                "b@example.com",
		AttrSourceAddress:                "198.51.100.77",
		AttrUserAgent:                    "curl/8",
		AttrStatusCode:                   int64(403),
		AttrErrorMessage:                 "denied",
		AttrObjectType:                   "secret",
		AttrObjectName:                   "prod-db/admin-password",
		AttrRequestParamPrefix + "scope": "prod-db",
		AttrRequestParamPrefix + "key":   "admin-password",
	}
	got := lr.Attributes().AsRaw()
	id, _ := got[AttrEventID].(string)
	assert.Len(t, id, 32, "derived event id is 128 bits of hex")
	delete(got, AttrEventID)
	assert.Equal(t, want, got)
	// The body keeps the record as it came, nulls included.
	body := lr.Body().Map().AsRaw()
	assert.Equal(t, "999", body["orgId"])
	assert.Equal(t, map[string]any{"statusCode": int64(403), "errorMessage": "denied", "result": nil}, body["response"])
}

func TestDeliveryLineDefensive(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		check func(t *testing.T, lr plog.LogRecord, res Resource)
	}{
		{
			name: "numbers as strings and ids as numbers",
			line: `{"timestamp":"1735726011789","orgId":4839201746501234,"accountId":7,"serviceName":"accounts","actionName":"login","response":{"statusCode":"401"}}`,
			check: func(t *testing.T, lr plog.LogRecord, res Resource) {
				assert.Equal(t, int64(1735726011789), lr.Timestamp().AsTime().UnixMilli())
				assert.Equal(t, int64(401), attr(t, lr, AttrStatusCode))
				assert.Equal(t, "WARN", lr.SeverityText())
				assert.Equal(t, "7", res.AccountID)
			},
		},
		{
			name: "missing structs",
			line: `{"timestamp":1735726011789,"serviceName":"clusters","actionName":"delete","userIdentity":null,"requestParams":null}`,
			check: func(t *testing.T, lr plog.LogRecord, _ Resource) {
				assert.Equal(t, "INFO", lr.SeverityText(), "no status means INFO")
				assert.Nil(t, attr(t, lr, AttrStatusCode))
				assert.Nil(t, attr(t, lr, AttrUserEmail))
				assert.Equal(t, IdentityUnknown, attr(t, lr, AttrIdentityType))
				assert.Nil(t, attr(t, lr, AttrObjectType))
			},
		},
		{
			name: "non-string request params are JSON-encoded",
			line: `{"timestamp":1,"serviceName":"clusters","actionName":"create","requestParams":{"num_workers":4,"autoscale":{"min_workers":1,"max_workers":8},"init_scripts":["a","b"],"spark":true,"cluster_id":"0101-abc","gone":null}}`,
			check: func(t *testing.T, lr plog.LogRecord, _ Resource) {
				assert.Equal(t, "4", attr(t, lr, AttrRequestParamPrefix+"num_workers"))
				assert.JSONEq(t, `{"min_workers":1,"max_workers":8}`, attr(t, lr, AttrRequestParamPrefix+"autoscale").(string))
				assert.Equal(t, `["a","b"]`, attr(t, lr, AttrRequestParamPrefix+"init_scripts"))
				assert.Equal(t, "true", attr(t, lr, AttrRequestParamPrefix+"spark"))
				assert.Nil(t, attr(t, lr, AttrRequestParamPrefix+"gone"), "null parameters carry no value")
				assert.Equal(t, "cluster", attr(t, lr, AttrObjectType))
				assert.Equal(t, "0101-abc", attr(t, lr, AttrObjectName))
			},
		},
		{
			name: "unknown version and extra fields are kept",
			line: `{"version":"3.1","timestamp":1735726011789,"serviceName":"newService","actionName":"newAction","brandNew":{"x":[1,2.5]},"userIdentity":"{\"email\":\"System-User\"}"}`,
			check: func(t *testing.T, lr plog.LogRecord, _ Resource) {
				assert.Equal(t, "newService", attr(t, lr, AttrServiceName))
				assert.Equal(t, "System-User", attr(t, lr, AttrUserEmail), "a JSON-encoded struct is decoded")
				assert.Equal(t, IdentitySystem, attr(t, lr, AttrIdentityType))
				brandNew, _ := lr.Body().Map().Get("brandNew")
				assert.Equal(t, map[string]any{"x": []any{int64(1), 2.5}}, brandNew.AsRaw())
			},
		},
		{
			name: "orgId stands in for a missing path workspace",
			line: `{"timestamp":1,"orgId":"555","serviceName":"a","actionName":"b"}`,
			check: func(t *testing.T, _ plog.LogRecord, res Resource) {
				assert.Equal(t, "555", res.WorkspaceID)
			},
		},
		{
			name: "escapes and invalid UTF-8 are made valid",
			line: "{\"timestamp\":1,\"serviceName\":\"a\\u00e9\\ud83d\\ude00\",\"actionName\":\"b\xff\"}",
			check: func(t *testing.T, lr plog.LogRecord, _ Resource) {
				assert.Equal(t, "aé😀", attr(t, lr, AttrServiceName))
				assert.Equal(t, "b\uFFFD", attr(t, lr, AttrActionName))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			ws := ""
			res, err := fixedParser(CloudGCP).ParseDeliveryLine([]byte(tt.line), ws, lr)
			require.NoError(t, err)
			tt.check(t, lr, res)
		})
	}
}

func TestDeliveryLineRejected(t *testing.T) {
	for name, line := range map[string]string{
		"empty":         ``,
		"array":         `[1,2]`,
		"truncated":     `{"timestamp":1735726011789,"serviceName":"acc`,
		"trailing data": `{"a":1} {"b":2}`,
		"bad literal":   `{"a":tru}`,
		"bad number":    `{"a":01}`,
		"bad escape":    `{"a":"\x"}`,
		"raw control":   "{\"a\":\"\x01\"}",
		"missing colon": `{"a" 1}`,
		"too deep":      `{"a":` + string(bytes.Repeat([]byte(`[`), 40)) + string(bytes.Repeat([]byte(`]`), 40)) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			b := NewBatch(fixedParser(""), "test", "")
			require.Error(t, b.AppendDeliveryLine([]byte(line), ""))
			assert.Equal(t, 0, b.Len(), "a rejected line adds nothing")
			require.NoError(t, b.AppendDeliveryLine([]byte(`{"timestamp":1,"serviceName":"a","actionName":"b"}`), ""))
			assert.Equal(t, 1, b.Len(), "the parser recovers for the next line")
		})
	}
}

func TestIdentityType(t *testing.T) {
	for email, want := range map[string]string{
		"alice@example.com":                      IdentityUser,
		"System-User":                            IdentitySystem,
		"6f05d6d6-0000-4000-8000-0addaa1c1797":   IdentityServicePrincipal,
		"6F05D6D6-0000-4000-8000-0ADDAA1C1797":   IdentityServicePrincipal,
		"6f05d6d6-0000-4000-8000-0addaa1c179":    IdentityUnknown,
		"6f05d6d6x0000-4000-8000-0addaa1c1797":   IdentityUnknown,
		"unknown":                                IdentityUnknown,
		"":                                       IdentityUnknown,
		"sa-ingest@proj.iam.gserviceaccount.com": IdentityUser,
	} {
		assert.Equal(t, want, IdentityType(email), email)
	}
}

func TestStripPort(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.24":      "203.0.113.24",
		"198.51.100.77:0":   "198.51.100.77",
		"10.0.0.1:443":      "10.0.0.1",
		"2001:db8::1":       "2001:db8::1",
		"[2001:db8::1]:443": "2001:db8::1",
		"[2001:db8::1]":     "2001:db8::1",
		"::1":               "::1",
		" 192.0.2.1:80 ":    "192.0.2.1",
		"":                  "",
	} {
		assert.Equal(t, want, StripPort(in), in)
	}
}

func TestObjectExtraction(t *testing.T) {
	tests := []struct {
		service, action string
		params          map[string]string
		typ, name       string
	}{
		{"unityCatalog", "getTable", map[string]string{"full_name_arg": "main.hr.salaries", "workspace_id": "1"}, "table", "main.hr.salaries"},
		{"unityCatalog", "generateTemporaryTableCredential", map[string]string{"table_full_name": "finance.payroll.salaries", "operation": "READ"}, "table", "finance.payroll.salaries"},
		{"unityCatalog", "updatePermissions", map[string]string{"securable_type": "TABLE", "securable_full_name": "main.hr.pii", "changes": "[]"}, "table", "main.hr.pii"},
		{"unityCatalog", "createTable", map[string]string{"name": "t1", "catalog_name": "main", "schema_name": "sales"}, "table", "main.sales.t1"},
		{"unityCatalog", "getSchema", map[string]string{"full_name_arg": "main.sales"}, "schema", "main.sales"},
		{"unityCatalog", "generateTemporaryVolumeCredential", map[string]string{"volume_full_name": "main.raw.files"}, "volume", "main.raw.files"},
		{"unityCatalog", "deltaSharingQueryTable", map[string]string{"share": "s1", "schema": "sc", "name": "t", "recipient_name": "r"}, "share", "s1.sc.t"},
		{"unityCatalog", "createRecipient", map[string]string{"name": "partner"}, "recipient", "partner"},
		{"unityCatalog", "generateTemporaryPathCredential", map[string]string{"url": "s3://b/p", "operation": "READ"}, "path", "s3://b/p"},
		{"unityCatalog", "updateMetastore", map[string]string{"metastore_id": "m-1"}, "metastore", "m-1"},
		{"clusters", "permanentDelete", map[string]string{"cluster_id": "0101-101010-abcd1234"}, "cluster", "0101-101010-abcd1234"},
		{"clusters", "createResult", map[string]string{"clusterId": "0101-x", "clusterName": "n"}, "cluster", "0101-x"},
		{"jobs", "runNow", map[string]string{"job_id": "998877"}, "job", "998877"},
		{"jobs", "runFailed", map[string]string{"jobId": "7", "runId": "8"}, "job", "7"},
		{"jobs", "cancel", map[string]string{"run_id": "8"}, "job_run", "8"},
		{"notebook", "attachNotebook", map[string]string{"path": "/Users/a/nb", "clusterId": "c"}, "notebook", "/Users/a/nb"},
		{"notebook", "downloadLargeResults", map[string]string{"notebookId": "1", "notebookFullPath": "/Users/a/x"}, "notebook", "/Users/a/x"},
		{"workspace", "workspaceExport", map[string]string{"notebookFullPath": "/Users/a/x", "workspaceExportFormat": "HTML"}, "notebook", "/Users/a/x"},
		{"workspace", "workspaceConfEdit", map[string]string{"workspaceConfKeys": "enableVerboseAuditLogs", "workspaceConfValues": "false"}, "workspace_setting", "enableVerboseAuditLogs"},
		{"workspace", "moveWorkspaceNode", map[string]string{"path": "/a", "destinationPath": "/b"}, "workspace_object", "/a"},
		{"secrets", "getSecret", map[string]string{"scope": "prod", "key": "pw"}, "secret", "prod/pw"},
		{"secrets", "listSecrets", map[string]string{"scope": "prod"}, "secret_scope", "prod"},
		{"accounts", "generateDbToken", map[string]string{"userId": "1", "tokenHash": "abc", "tokenExpirationTime": "0"}, "token", "abc"},
		{"accounts", "addPrincipalToGroup", map[string]string{"targetUserName": "carol@example.com", "targetGroupName": "admins"}, "group", "admins"},
		{"accounts", "setAdmin", map[string]string{"targetUserName": "carol@example.com"}, "user", "carol@example.com"},
		{"accounts", "changeServicePrincipalAcls", map[string]string{"targetServicePrincipal": "sp-1"}, "service_principal", "sp-1"},
		{"accounts", "deleteIpAccessList", map[string]string{"ipAccessListId": "ipl-1"}, "ip_access_list", "ipl-1"},
		{"databrickssql", "startWarehouse", map[string]string{"id": "wh-1"}, "warehouse", "wh-1"},
		{"databrickssql", "commandSubmit", map[string]string{"warehouseId": "wh-2", "commandText": "select 1"}, "warehouse", "wh-2"},
		{"databrickssql", "downloadQueryResult", map[string]string{"queryId": "q-1", "fileType": "csv"}, "query", "q-1"},
		{"globalInitScripts", "create", map[string]string{"name": "s", "script_id": "gis-1"}, "global_init_script", "gis-1"},
		{"dbfs", "mount", map[string]string{"mountPoint": "/mnt/x"}, "dbfs_path", "/mnt/x"},
		{"accounts", "tokenLogin", map[string]string{"user": "a@example.com"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.service+"."+tt.action, func(t *testing.T) {
			e := &Event{ServiceName: tt.service, ActionName: tt.action}
			for k, v := range tt.params {
				e.Params = append(e.Params, Param{Key: k, Value: v})
			}
			typ, name := objectOf(e)
			assert.Equal(t, tt.typ, typ)
			assert.Equal(t, tt.name, name)
		})
	}
}

func TestEventIDStable(t *testing.T) {
	id := func(line string) string {
		lr, _ := record(t, line)
		return attr(t, lr, AttrEventID).(string)
	}
	base := id(`{"timestamp":1,"serviceName":"a","actionName":"b","requestId":"r","requestParams":{"x":"1","y":"2"}}`)
	assert.Equal(t, base, id(`{"requestParams":{"y":"2","x":"1"},"actionName":"b","requestId":"r","serviceName":"a","timestamp":1}`),
		"key order does not change the id")
	assert.NotEqual(t, base, id(`{"timestamp":1,"serviceName":"a","actionName":"b","requestId":"r2","requestParams":{"x":"1","y":"2"}}`))
	assert.NotEqual(t, base, id(`{"timestamp":1,"serviceName":"a","actionName":"b","requestId":"r","requestParams":{"x":"1","y":"3"}}`))
	assert.NotEqual(t, base, id(`{"timestamp":2,"serviceName":"a","actionName":"b","requestId":"r","requestParams":{"x":"1","y":"2"}}`))
}

func TestAzureRecordForms(t *testing.T) {
	// identity/requestParams/response as objects or JSON-encoded strings give the same record.
	asStrings := `{"time":"2025-01-01T10:02:11Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DATABRICKS/WORKSPACES/W","category":"clusters","operationName":"Microsoft.Databricks/clusters/permanentDelete","identity":"{\"email\":\"admin@contoso.com\",\"subjectName\":null}","properties":{"sourceIPAddress":"203.0.113.9:0","serviceName":"clusters","actionName":"permanentDelete","requestId":"r","requestParams":"{\"cluster_id\":\"0101-x\"}","response":"{\"statusCode\":500,\"errorMessage\":\"boom\"}"}}`
	asObjects := `{"time":"2025-01-01T10:02:11Z","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DATABRICKS/WORKSPACES/W","category":"clusters","operationName":"Microsoft.Databricks/clusters/permanentDelete","identity":{"email":"admin@contoso.com","subjectName":null},"properties":{"sourceIPAddress":"203.0.113.9:0","serviceName":"clusters","actionName":"permanentDelete","requestId":"r","requestParams":{"cluster_id":"0101-x"},"response":{"statusCode":500,"errorMessage":"boom"}}}`
	var attrs []map[string]any
	for _, rec := range []string{asStrings, asObjects} {
		lr := plog.NewLogRecord()
		res, err := fixedParser("").ParseAzureRecord([]byte(rec), lr)
		require.NoError(t, err)
		assert.Equal(t, CloudAzure, res.CloudProvider)
		assert.Equal(t, "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DATABRICKS/WORKSPACES/W", res.CloudResourceID)
		assert.Equal(t, "WARN", lr.SeverityText())
		assert.Equal(t, time.Date(2025, 1, 1, 10, 2, 11, 0, time.UTC), lr.Timestamp().AsTime())
		attrs = append(attrs, lr.Attributes().AsRaw())
	}
	assert.Equal(t, attrs[0], attrs[1])
	assert.Equal(t, "admin@contoso.com", attrs[0][AttrUserEmail])
	assert.Equal(t, "203.0.113.9", attrs[0][AttrSourceAddress])
	assert.Equal(t, int64(500), attrs[0][AttrStatusCode])
	assert.Equal(t, "boom", attrs[0][AttrErrorMessage])
	assert.Equal(t, "cluster", attrs[0][AttrObjectType])
	assert.Equal(t, "azure_diagnostics", attrs[0][AttrAuditSource])
}

func TestAzureOperationNameFallback(t *testing.T) {
	lr := plog.NewLogRecord()
	_, err := fixedParser("").ParseAzureRecord([]byte(`{"time":"2025-01-01T10:00:00Z","operationName":"Microsoft.Databricks/accounts/aadBrowserLogin","properties":{}}`), lr)
	require.NoError(t, err)
	assert.Equal(t, "accounts", attr(t, lr, AttrServiceName))
	assert.Equal(t, "aadBrowserLogin", attr(t, lr, AttrActionName))
}

func TestAzureEnvelopeRejectsNonRecords(t *testing.T) {
	b := NewBatch(fixedParser(""), "test", "")
	added, rejected, err := b.AppendAzureLine([]byte(`{"records":[{"time":"2025-01-01T10:00:00Z","category":"jobs","properties":{"actionName":"runNow"}},42,"x"]}`))
	require.NoError(t, err)
	assert.Equal(t, 1, added)
	assert.Equal(t, 2, rejected)
	assert.Equal(t, 1, b.Len())
	_, _, err = b.AppendAzureLine([]byte(`{"records":{}}`))
	require.Error(t, err)
	assert.Equal(t, 1, b.Len())
}

func TestBatchGroupsByResource(t *testing.T) {
	b := NewBatch(fixedParser(CloudAWS), "scope", "1.0")
	for _, ws := range []string{"1", "2", "1", "0"} {
		require.NoError(t, b.AppendDeliveryLine([]byte(`{"timestamp":1,"accountId":"acc","serviceName":"a","actionName":"b"}`), ws))
	}
	ld := b.Take()
	require.Equal(t, 3, ld.ResourceLogs().Len())
	counts := map[string]int{}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		ws, _ := rl.Resource().Attributes().Get(ResAttrWorkspaceID)
		acc, _ := rl.Resource().Attributes().Get(ResAttrAccountID)
		cloud, _ := rl.Resource().Attributes().Get(ResAttrCloudProvider)
		assert.Equal(t, "acc", acc.Str())
		assert.Equal(t, "aws", cloud.Str())
		assert.Equal(t, "scope", rl.ScopeLogs().At(0).Scope().Name())
		assert.Equal(t, "1.0", rl.ScopeLogs().At(0).Scope().Version())
		counts[ws.Str()] = rl.ScopeLogs().At(0).LogRecords().Len()
	}
	assert.Equal(t, map[string]int{"1": 2, "2": 1, "0": 1}, counts)
}

func TestResourceCopyToSkipsEmpty(t *testing.T) {
	m := pcommon.NewMap()
	Resource{WorkspaceID: "1"}.CopyTo(m)
	assert.Equal(t, map[string]any{ResAttrWorkspaceID: "1"}, m.AsRaw())
}
