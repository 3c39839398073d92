// Package auditlog turns Databricks audit events, in every form a customer can get them
// (system.access.audit rows, audit-log delivery lines, Azure diagnostic records), into log
// records of one schema (DESIGN §3.1). The receiver feeds it; the anomaly processor's quality
// tests and the benchmarks feed simulator output through the same entry points, so what they
// see is exactly what the collector emits.
//
// Entry points:
//   - Parser.ParseDeliveryLine: one JSON line of an audit-log delivery object.
//   - Parser.ParseAzureRecord / Parser.ParseAzureLine: Azure resource-log records.
//   - AppendAuditRow: a decoded system.access.audit row.
//   - Batch: groups records under one ResourceLogs per workspace/account.
//
// A Parser is not safe for concurrent use; it reuses its buffers from record to record.
package auditlog
