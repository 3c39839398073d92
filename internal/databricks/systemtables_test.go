package databricks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSystemTableSQLText(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"audit default", AuditSQL(DefaultAuditTable, 100000),
			"SELECT * FROM system.access.audit WHERE event_date >= :from_date AND event_date <= :to_date AND event_time >= :from_ts AND event_time < :to_ts ORDER BY event_time, event_id LIMIT 100000"},
		{"audit no limit", AuditSQL("main.security.audit_copy", 0),
			"SELECT * FROM main.security.audit_copy WHERE event_date >= :from_date AND event_date <= :to_date AND event_time >= :from_ts AND event_time < :to_ts ORDER BY event_time, event_id"},
		{"node timeline", NodeTimelineSQL(50000),
			"SELECT account_id, workspace_id, cluster_id, instance_id, start_time, end_time, driver, node_type, cpu_user_percent, cpu_system_percent, cpu_wait_percent, mem_used_percent, mem_swap_percent, network_sent_bytes, network_received_bytes, disk_free_bytes_per_mount_point FROM system.compute.node_timeline WHERE start_time >= :from_ts AND start_time < :to_ts ORDER BY start_time, instance_id LIMIT 50000"},
		{"billing", BillingUsageSQL(0),
			"SELECT record_id, account_id, workspace_id, sku_name, cloud, usage_start_time, usage_end_time, usage_date, custom_tags, usage_unit, usage_quantity, usage_metadata, record_type, billing_origin_product FROM system.billing.usage WHERE usage_date >= :from_date AND usage_date <= :to_date AND usage_start_time >= :from_ts AND usage_start_time < :to_ts ORDER BY usage_start_time, record_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.got) })
	}
}

var auditColumns = []map[string]any{
	{"name": "account_id", "type_name": "STRING"}, {"name": "workspace_id", "type_name": "STRING"},
	{"name": "version", "type_name": "STRING"}, {"name": "event_time", "type_name": "TIMESTAMP"},
	{"name": "event_date", "type_name": "DATE"}, {"name": "source_ip_address", "type_name": "STRING"},
	{"name": "user_agent", "type_name": "STRING"}, {"name": "session_id", "type_name": "STRING"},
	{"name": "user_identity", "type_name": "STRUCT"}, {"name": "service_name", "type_name": "STRING"},
	{"name": "action_name", "type_name": "STRING"}, {"name": "request_id", "type_name": "STRING"},
	{"name": "request_params", "type_name": "MAP"}, {"name": "response", "type_name": "STRUCT"},
	{"name": "audit_level", "type_name": "STRING"}, {"name": "event_id", "type_name": "STRING"},
	{"name": "identity_metadata", "type_name": "STRUCT"},
}

// auditRow lays values out in auditColumns order.
func auditRow(eventTime, eventID, userIdentity, requestParams, response, identityMetadata any) []*string {
	return row("0b6f3a7e-1c2d-4e5f-8a9b-112233445566", "4839201746501234", "2.0", eventTime, "2025-01-01",
		"192.0.2.10", "Mozilla/5.0", "s-123", userIdentity, "accounts", "samlLogin", "req-1",
		requestParams, response, "WORKSPACE_LEVEL", eventID, identityMetadata)
}

func TestQueryAuditDecodesRowsAndPassesBadOnes(t *testing.T) {
	fw := newFakeWorkspace(t)
	fs := &fakeStatements{t: t, columns: auditColumns, chunks: [][][]*string{
		{
			auditRow("2025-01-01T10:00:00.123Z", "evt-1", `{"email":"bob@example.com","subject_name":null}`,
				`{"user":"bob@example.com","nested":"{\"a\":1}"}`, `{"status_code":401,"error_message":"SAML assertion validation failed","result":null}`,
				`{"run_by":"dave@example.com","run_as":"data-eng-group"}`),
			auditRow("yesterday at noon", "evt-2", nil, nil, nil, nil),
		},
		{
			auditRow("2025-01-01 10:05:12.456", "evt-3", "System-User", `{}`, `{"status_code":"200"}`, nil),
			auditRow("2025-01-01T10:06:00Z", "evt-4", nil, `{"user": "trunc`, nil, nil),
			auditRow("2025-01-01T10:07:00+02:00", "evt-5", nil, nil, nil, nil),
			auditRow("2025-01-01T10:08:00Z", nil, nil, nil, nil, nil),
		},
	}}
	fs.register(fw)
	from := time.Date(2025, 1, 1, 9, 45, 0, 0, time.UTC)
	to := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)

	var good []AuditRow
	var bad []RowError
	err := fw.client().QueryAudit(context.Background(), AuditQuery{WarehouseID: "wh1", From: from, To: to, Limit: 100000},
		func(rows []AuditRow, badRows []RowError) error {
			good = append(good, rows...)
			bad = append(bad, badRows...)
			return nil
		})
	require.NoError(t, err)

	require.Len(t, fs.requests, 1)
	assert.Equal(t, AuditSQL(DefaultAuditTable, 100000), fs.requests[0].Statement)
	assert.Equal(t, []statementParameter{
		{Name: "from_date", Value: "2025-01-01", Type: "DATE"},
		{Name: "to_date", Value: "2025-01-02", Type: "DATE"},
		{Name: "from_ts", Value: "2025-01-01T09:45:00.000000Z", Type: "TIMESTAMP"},
		{Name: "to_ts", Value: "2025-01-02T00:00:00.000000Z", Type: "TIMESTAMP"},
	}, fs.requests[0].Parameters)

	require.Len(t, good, 3)
	first := good[0]
	assert.Equal(t, "evt-1", first.EventID)
	assert.Equal(t, time.Date(2025, 1, 1, 10, 0, 0, 123e6, time.UTC), first.EventTime)
	assert.Equal(t, "2025-01-01", first.EventDate)
	assert.Equal(t, "0b6f3a7e-1c2d-4e5f-8a9b-112233445566", first.AccountID)
	assert.Equal(t, "4839201746501234", first.WorkspaceID)
	assert.Equal(t, "2.0", first.Version)
	assert.Equal(t, "192.0.2.10", first.SourceIPAddress)
	assert.Equal(t, "Mozilla/5.0", first.UserAgent)
	assert.Equal(t, "s-123", first.SessionID)
	assert.Equal(t, "accounts", first.ServiceName)
	assert.Equal(t, "samlLogin", first.ActionName)
	assert.Equal(t, "req-1", first.RequestID)
	assert.Equal(t, "WORKSPACE_LEVEL", first.AuditLevel)
	assert.Equal(t, "bob@example.com", first.UserIdentity.Email)
	assert.Empty(t, first.UserIdentity.SubjectName)
	assert.Equal(t, "dave@example.com", first.Identity.RunBy)
	assert.Equal(t, "data-eng-group", first.Identity.RunAs)
	assert.Equal(t, map[string]string{"user": "bob@example.com", "nested": `{"a":1}`}, first.RequestParams)
	require.NotNil(t, first.Response.StatusCode)
	assert.Equal(t, 401, *first.Response.StatusCode)
	assert.Equal(t, "SAML assertion validation failed", first.Response.ErrorMessage)
	assert.Empty(t, first.Response.Result)
	assert.Equal(t, map[string]any{"status_code": int64(401), "error_message": "SAML assertion validation failed", "result": nil}, first.Raw["response"])
	assert.Equal(t, map[string]any{"email": "bob@example.com", "subject_name": nil}, first.Raw["user_identity"])
	assert.Equal(t, "2025-01-01T10:00:00.123Z", first.Raw["event_time"])
	assert.Len(t, first.Raw, len(auditColumns))

	legacy := good[1]
	assert.Equal(t, "evt-3", legacy.EventID)
	assert.Equal(t, "System-User", legacy.UserIdentity.Email, "the early string form of user_identity")
	assert.Equal(t, time.Date(2025, 1, 1, 10, 5, 12, 456e6, time.UTC), legacy.EventTime)
	require.NotNil(t, legacy.Response.StatusCode)
	assert.Equal(t, 200, *legacy.Response.StatusCode)
	assert.Empty(t, legacy.RequestParams)

	nulls := good[2]
	assert.Equal(t, time.Date(2025, 1, 1, 8, 7, 0, 0, time.UTC), nulls.EventTime)
	assert.Nil(t, nulls.Response.StatusCode)
	assert.Nil(t, nulls.RequestParams)
	assert.Nil(t, nulls.Raw["response"])
	assert.Contains(t, nulls.Raw, "response")

	require.Len(t, bad, 3)
	assert.Equal(t, 1, bad[0].Index)
	assert.EqualError(t, bad[0].Err, `column event_time: not a timestamp: "yesterday at noon"`)
	assert.Equal(t, 3, bad[1].Index, "indexes count across chunks")
	assert.ErrorContains(t, bad[1].Err, "column request_params: invalid JSON")
	assert.Equal(t, 5, bad[2].Index)
	assert.EqualError(t, bad[2].Err, "column event_id: missing")
}

func TestQueryAuditValidatesBeforeSending(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		q       AuditQuery
		wantErr string
	}{
		{"injection in table", AuditQuery{Table: "system.access.audit; DROP TABLE x", WarehouseID: "wh", From: from, To: from.Add(time.Hour)}, "is not a plain catalog.schema.table name"},
		{"quoted table", AuditQuery{Table: "`system`.access.audit", WarehouseID: "wh", From: from, To: from.Add(time.Hour)}, "is not a plain"},
		{"no warehouse", AuditQuery{From: from, To: from.Add(time.Hour)}, "warehouse id is required"},
		{"empty window", AuditQuery{WarehouseID: "wh", From: from, To: from}, "is empty"},
		{"no window", AuditQuery{WarehouseID: "wh"}, "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFakeWorkspace(t)
			err := fw.client().QueryAudit(context.Background(), tt.q, func([]AuditRow, []RowError) error { return nil })
			require.ErrorContains(t, err, tt.wantErr)
			assert.Zero(t, fw.count("POST /api/2.0/sql/statements"))
		})
	}
}

func TestQueryAuditStopsWhenCallbackFails(t *testing.T) {
	fw := newFakeWorkspace(t)
	fs := &fakeStatements{t: t, columns: auditColumns, chunks: [][][]*string{
		{auditRow("2025-01-01T10:00:00Z", "evt-1", nil, nil, nil, nil)},
		{auditRow("2025-01-01T10:01:00Z", "evt-2", nil, nil, nil, nil)},
	}}
	fs.register(fw)
	refused := errors.New("consumer refused")
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	err := fw.client().QueryAudit(context.Background(), AuditQuery{WarehouseID: "wh1", From: from, To: from.Add(24 * time.Hour)},
		func([]AuditRow, []RowError) error { return refused })
	require.ErrorIs(t, err, refused)
	assert.Zero(t, fw.count("GET /api/2.0/sql/statements/"+fakeStatementID+"/result/chunks/1"))
}

func TestQueryNodeTimeline(t *testing.T) {
	fw := newFakeWorkspace(t)
	cols := columnsOf("account_id", "workspace_id", "cluster_id", "instance_id", "start_time", "end_time", "driver", "node_type",
		"cpu_user_percent", "cpu_system_percent", "cpu_wait_percent", "mem_used_percent", "mem_swap_percent",
		"network_sent_bytes", "network_received_bytes", "disk_free_bytes_per_mount_point")
	fs := &fakeStatements{t: t, columns: cols, chunks: [][][]*string{{
		row("acc", "ws1", "0101-abc", "i-0a1", "2025-01-01T10:00:00.000Z", "2025-01-01T10:01:00.000Z", "true", "i3.xlarge",
			"12.5", "3.25", "0.5", "61.0", "0.0", "1048576", "2097152", `{"/":107374182400,"/local_disk0":"5368709120"}`),
		row("acc", "ws1", "0101-abc", "i-0a2", "2025-01-01T10:00:00.000Z", "2025-01-01T10:01:00.000Z", "false", "i3.xlarge",
			nil, nil, nil, nil, nil, nil, nil, nil),
		row("acc", "ws1", "0101-abc", "i-0a3", "2025-01-01T10:00:00.000Z", "2025-01-01T10:01:00.000Z", "false", "i3.xlarge",
			"NaN", "1", "1", "1", "1", "1", "1", nil),
		row("acc", "ws1", "0101-abc", "i-0a4", "2025-01-01T10:00:00.000Z", "2025-01-01T10:01:00.000Z", "maybe", "i3.xlarge",
			"1", "1", "1", "1", "1", "1", "1", nil),
	}}}
	fs.register(fw)
	from := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	var good []NodeTimelineRow
	var bad []RowError
	err := fw.client().QueryNodeTimeline(context.Background(), TimelineQuery{WarehouseID: "wh1", From: from, To: from.Add(time.Hour), Limit: 50000},
		func(rows []NodeTimelineRow, b []RowError) error {
			good = append(good, rows...)
			bad = append(bad, b...)
			return nil
		})
	require.NoError(t, err)
	assert.Equal(t, NodeTimelineSQL(50000), fs.requests[0].Statement)
	assert.Equal(t, []statementParameter{
		{Name: "from_ts", Value: "2025-01-01T10:00:00.000000Z", Type: "TIMESTAMP"},
		{Name: "to_ts", Value: "2025-01-01T11:00:00.000000Z", Type: "TIMESTAMP"},
	}, fs.requests[0].Parameters)

	require.Len(t, good, 2)
	n := good[0]
	assert.Equal(t, "ws1", n.WorkspaceID)
	assert.Equal(t, "0101-abc", n.ClusterID)
	assert.Equal(t, "i-0a1", n.InstanceID)
	assert.True(t, n.Driver)
	assert.Equal(t, "i3.xlarge", n.NodeType)
	assert.Equal(t, time.Minute, n.EndTime.Sub(n.StartTime))
	assert.Equal(t, 12.5, *n.CPUUserPercent)
	assert.Equal(t, 3.25, *n.CPUSystemPercent)
	assert.Equal(t, 0.5, *n.CPUWaitPercent)
	assert.Equal(t, 61.0, *n.MemUsedPercent)
	assert.Equal(t, 0.0, *n.MemSwapPercent)
	assert.Equal(t, int64(1048576), *n.NetworkSentBytes)
	assert.Equal(t, int64(2097152), *n.NetworkReceivedBytes)
	assert.Equal(t, map[string]int64{"/": 107374182400, "/local_disk0": 5368709120}, n.DiskFreeBytesPerMountPoint)

	empty := good[1]
	assert.Nil(t, empty.CPUUserPercent)
	assert.Nil(t, empty.NetworkSentBytes)
	assert.Nil(t, empty.DiskFreeBytesPerMountPoint)

	require.Len(t, bad, 2)
	assert.Equal(t, 2, bad[0].Index)
	assert.EqualError(t, bad[0].Err, `column cpu_user_percent: not a finite number: "NaN"`)
	assert.Equal(t, 3, bad[1].Index)
	assert.EqualError(t, bad[1].Err, `column driver: not a boolean: "maybe"`)
}

func TestQueryBillingUsage(t *testing.T) {
	fw := newFakeWorkspace(t)
	cols := columnsOf("record_id", "account_id", "workspace_id", "sku_name", "cloud", "usage_start_time", "usage_end_time",
		"usage_date", "custom_tags", "usage_unit", "usage_quantity", "usage_metadata", "record_type", "billing_origin_product")
	fs := &fakeStatements{t: t, columns: cols, chunks: [][][]*string{{
		row("r-1", "acc", "ws1", "PREMIUM_JOBS_COMPUTE", "AWS", "2025-01-01T10:00:00.000Z", "2025-01-01T11:00:00.000Z",
			"2025-01-01", `{"team":"data"}`, "DBU", "3.750000000000000000", `{"cluster_id":"0101-abc","job_id":"42","warehouse_id":null}`, "ORIGINAL", "JOBS"),
		row("r-2", "acc", "ws1", "PREMIUM_JOBS_COMPUTE", "AWS", "2025-01-01T10:00:00.000Z", "2025-01-01T11:00:00.000Z",
			"2025-01-01", nil, "DBU", "-1.25", nil, "RETRACTION", "JOBS"),
		row(nil, "acc", "ws1", "PREMIUM_JOBS_COMPUTE", "AWS", "2025-01-01T10:00:00.000Z", "2025-01-01T11:00:00.000Z",
			"2025-01-01", nil, "DBU", "1", nil, "ORIGINAL", "JOBS"),
		row("r-4", "acc", "ws1", "PREMIUM_JOBS_COMPUTE", "AWS", "2025-01-01T10:00:00.000Z", "2025-01-01T11:00:00.000Z",
			"2025-01-01", nil, "DBU", "lots", nil, "ORIGINAL", "JOBS"),
	}}}
	fs.register(fw)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var good []BillingUsageRow
	var bad []RowError
	err := fw.client().QueryBillingUsage(context.Background(), TimelineQuery{WarehouseID: "wh1", From: from, To: from.Add(24 * time.Hour)},
		func(rows []BillingUsageRow, b []RowError) error {
			good = append(good, rows...)
			bad = append(bad, b...)
			return nil
		})
	require.NoError(t, err)
	assert.Equal(t, BillingUsageSQL(0), fs.requests[0].Statement)

	require.Len(t, good, 2)
	b := good[0]
	assert.Equal(t, "r-1", b.RecordID)
	assert.Equal(t, "PREMIUM_JOBS_COMPUTE", b.SKUName)
	assert.Equal(t, "AWS", b.Cloud)
	assert.Equal(t, "DBU", b.UsageUnit)
	assert.Equal(t, 3.75, b.UsageQuantity)
	assert.Equal(t, "ORIGINAL", b.RecordType)
	assert.Equal(t, "JOBS", b.BillingOriginProduct)
	assert.Equal(t, "2025-01-01", b.UsageDate)
	assert.Equal(t, time.Hour, b.UsageEndTime.Sub(b.UsageStartTime))
	assert.Equal(t, map[string]string{"team": "data"}, b.CustomTags)
	assert.Equal(t, map[string]string{"cluster_id": "0101-abc", "job_id": "42"}, b.UsageMetadata)
	assert.Equal(t, -1.25, good[1].UsageQuantity)
	assert.Equal(t, "RETRACTION", good[1].RecordType)

	require.Len(t, bad, 2)
	assert.EqualError(t, bad[0].Err, "column record_id: missing")
	assert.EqualError(t, bad[1].Err, `column usage_quantity: not a finite number: "lots"`)
}
