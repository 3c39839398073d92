package simulator

import (
	"sort"
	"time"
)

// Column is one column of a simulated system table.
type Column struct {
	Name     string
	TypeName string // Statement Execution API type_name: STRING, TIMESTAMP, DATE, LONG, INT, DOUBLE, BOOLEAN, STRUCT, MAP
	TypeText string // type_text, e.g. "STRUCT<email: STRING, subject_name: STRING>"
}

// Field is one member of a STRUCT value; Struct keeps the declared member order.
type Field struct {
	Name  string
	Value any
}

// Struct is a STRUCT value.
type Struct []Field

// Get returns the named member and whether it exists.
func (s Struct) Get(name string) (any, bool) {
	for _, f := range s {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Date is a DATE value, "yyyy-mm-dd".
type Date string

// Table is a simulated system table. Scan hands over the rows whose time column lies in
// [from, to) (zero bounds = unbounded) in a stable order; the SQL engine applies the full WHERE.
type Table struct {
	Name       string
	Columns    []Column
	TimeColumn string
	DateColumn string // a DATE column derived from TimeColumn, also used for pruning
	Scan       func(from, to time.Time, fn func(row func(col int) any))
}

func (t *Table) columnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

var auditColumns = []Column{
	{"account_id", "STRING", "string"},
	{"workspace_id", "STRING", "string"},
	{"version", "STRING", "string"},
	{"event_time", "TIMESTAMP", "timestamp"},
	{"event_date", "DATE", "date"},
	{"source_ip_address", "STRING", "string"},
	{"user_agent", "STRING", "string"},
	{"session_id", "STRING", "string"},
	{"user_identity", "STRUCT", "struct<email:string,subject_name:string>"},
	{"service_name", "STRING", "string"},
	{"action_name", "STRING", "string"},
	{"request_id", "STRING", "string"},
	{"request_params", "MAP", "map<string,string>"},
	{"response", "STRUCT", "struct<status_code:int,error_message:string,result:string>"},
	{"audit_level", "STRING", "string"},
	{"event_id", "STRING", "string"},
	{"identity_metadata", "STRUCT", "struct<run_by:string,run_as:string>"},
}

var nodeTimelineColumns = []Column{
	{"account_id", "STRING", "string"},
	{"workspace_id", "STRING", "string"},
	{"cluster_id", "STRING", "string"},
	{"instance_id", "STRING", "string"},
	{"start_time", "TIMESTAMP", "timestamp"},
	{"end_time", "TIMESTAMP", "timestamp"},
	{"driver", "BOOLEAN", "boolean"},
	{"node_type", "STRING", "string"},
	{"private_ip", "STRING", "string"},
	{"cpu_user_percent", "DOUBLE", "double"},
	{"cpu_system_percent", "DOUBLE", "double"},
	{"cpu_wait_percent", "DOUBLE", "double"},
	{"mem_used_percent", "DOUBLE", "double"},
	{"mem_swap_percent", "DOUBLE", "double"},
	{"network_sent_bytes", "LONG", "bigint"},
	{"network_received_bytes", "LONG", "bigint"},
	{"disk_free_bytes_per_mount_point", "MAP", "map<string,bigint>"},
}

var billingColumns = []Column{
	{"record_id", "STRING", "string"},
	{"account_id", "STRING", "string"},
	{"workspace_id", "STRING", "string"},
	{"sku_name", "STRING", "string"},
	{"cloud", "STRING", "string"},
	{"usage_start_time", "TIMESTAMP", "timestamp"},
	{"usage_end_time", "TIMESTAMP", "timestamp"},
	{"usage_date", "DATE", "date"},
	{"custom_tags", "MAP", "map<string,string>"},
	{"usage_unit", "STRING", "string"},
	{"usage_quantity", "DECIMAL", "decimal(38,18)"},
	{"usage_metadata", "STRUCT", "struct<cluster_id:string,warehouse_id:string,job_id:string,job_run_id:string,node_type:string>"},
	{"identity_metadata", "STRUCT", "struct<run_as:string,created_by:string,owned_by:string>"},
	{"record_type", "STRING", "string"},
	{"ingestion_date", "DATE", "date"},
	{"billing_origin_product", "STRING", "string"},
	{"usage_type", "STRING", "string"},
}

// auditTable serves events (sorted by time) visible at now.
func auditTable(events []AuditEvent, now time.Time) *Table {
	return &Table{
		Name: "system.access.audit", Columns: auditColumns, TimeColumn: "event_time", DateColumn: "event_date",
		Scan: func(from, to time.Time, fn func(row func(col int) any)) {
			lo := 0
			if !from.IsZero() {
				lo = sort.Search(len(events), func(i int) bool { return !events[i].Time.Before(from) })
			}
			for i := lo; i < len(events); i++ {
				e := &events[i]
				if (!to.IsZero() && !e.Time.Before(to)) || e.Time.After(now) {
					break
				}
				fn(e.column)
			}
		},
	}
}
