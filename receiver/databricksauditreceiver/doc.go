//go:generate ../../bin/mdatagen metadata.yaml

// Package databricksauditreceiver receives Databricks audit logs from the system.access.audit
// system table, from audit-log delivery objects (S3, GCS, Azure Blob, local files) or from
// Azure diagnostic-log files, and emits them as log records of one schema (DESIGN §3.1).
package databricksauditreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver"
