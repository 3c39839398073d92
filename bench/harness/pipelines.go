//go:build bench

package main

// The two delivery-ingestion pipelines. Both end in the same file exporter (JSON by default,
// the same -ingest-file-format for both) and neither has a batch processor, so the difference
// is receiving, parsing and normalising. Template arguments: %[1]s delivery directory, %[2]s
// output file, %[3]s the service::telemetry section, %[4]s the pprof extension's address,
// %[5]s further file exporter settings (fileExporterSettings), %[6]s the receiver's retention
// (benchRetention).

// benchRetention is the audit receiver's retention in every benchmark config. The records are
// generated at the bench scenario's fixed start (buildWorld), whose date partitions the default
// 72 hours would skip; retention only prunes the listing, it costs nothing per record.
const benchRetention = "87600h"

var oursPipeline = ingestPipeline{
	Name:  "databricks_audit",
	Needs: []string{"databricks_audit", "file", "pprof"},
	Config: `extensions:
  pprof:
    endpoint: %[4]s
receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file://%[1]s
      poll_interval: 1m
      retention: %[6]s
exporters:
  file:
    path: %[2]s
%[5]sservice:
  extensions: [pprof]
%[3]s  pipelines:
    logs:
      receivers: [databricks_audit]
      exporters: [file]
`,
}

// contribPipeline is what a user would assemble from contrib parts to get the records of
// DESIGN §3.1 from delivery files. What OTTL cannot reproduce is listed in §1 of
// BENCHMARKS.md; the `schema` comparison (schema.go) measures how close it comes.
var contribPipeline = ingestPipeline{
	Name:  "filelog_transform",
	Needs: []string{"file_log", "transform", "file", "pprof"},
	Config: `extensions:
  pprof:
    endpoint: %[4]s
receivers:
  file_log:
    include: ["%[1]s/**/*.json"]
    start_at: beginning
    include_file_path: true
    include_file_name: false
    max_log_size: 4MiB
    operators:
      # Body = the original record as a map; Timestamp = its epoch-milliseconds timestamp.
      - type: json_parser
        parse_to: body
        timestamp:
          parse_from: body.timestamp
          layout_type: epoch
          layout: ms
      # workspaceId comes from the object path, as a resource attribute.
      - type: regex_parser
        parse_from: attributes["log.file.path"]
        regex: 'workspaceId=(?P<workspace_id>[^/]+)/'
        parse_to: resource
      - type: move
        from: resource["workspace_id"]
        to: resource["databricks.workspace.id"]
      - type: remove
        field: attributes["log.file.path"]
processors:
  transform:
    error_mode: ignore
    log_statements:
      - context: log
        statements:
          - set(log.event_name, "databricks.audit")
          - set(log.attributes["event.name"], "databricks.audit")
          - set(log.attributes["databricks.audit.source"], "delivery")
          - set(log.attributes["databricks.service_name"], log.body["serviceName"])
          - set(log.attributes["databricks.action_name"], log.body["actionName"])
          - set(log.attributes["databricks.request_id"], log.body["requestId"]) where log.body["requestId"] != nil and log.body["requestId"] != ""
          - set(log.attributes["databricks.session_id"], log.body["sessionId"]) where log.body["sessionId"] != nil and log.body["sessionId"] != ""
          - set(log.attributes["databricks.audit_level"], log.body["auditLevel"]) where log.body["auditLevel"] != nil
          - set(log.attributes["user.email"], log.body["userIdentity"]["email"]) where log.body["userIdentity"]["email"] != nil
          - set(log.attributes["databricks.identity.type"], "unknown")
          - set(log.attributes["databricks.identity.type"], "user") where IsMatch(log.attributes["user.email"], "@")
          - set(log.attributes["databricks.identity.type"], "service_principal") where IsMatch(log.attributes["user.email"], "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
          - set(log.attributes["databricks.identity.type"], "system") where log.attributes["user.email"] == "System-User"
          - set(log.attributes["databricks.identity.run_by"], log.body["identityMetadata"]["runBy"]) where log.body["identityMetadata"]["runBy"] != nil
          - set(log.attributes["databricks.identity.run_as"], log.body["identityMetadata"]["runAs"]) where log.body["identityMetadata"]["runAs"] != nil
          - set(log.attributes["source.address"], log.body["sourceIPAddress"]) where log.body["sourceIPAddress"] != nil and log.body["sourceIPAddress"] != ""
          - replace_pattern(log.attributes["source.address"], "^([^:\\[\\]]+):[0-9]+$", "$$1")
          - replace_pattern(log.attributes["source.address"], "^\\[([^\\]]+)\\](:[0-9]+)?$", "$$1")
          - set(log.attributes["user_agent.original"], log.body["userAgent"]) where log.body["userAgent"] != nil and log.body["userAgent"] != ""
          - set(log.attributes["http.response.status_code"], Int(log.body["response"]["statusCode"])) where log.body["response"]["statusCode"] != nil
          - set(log.attributes["databricks.response.error_message"], log.body["response"]["errorMessage"]) where log.body["response"]["errorMessage"] != nil and log.body["response"]["errorMessage"] != ""
          - set(log.attributes["databricks.response.result"], log.body["response"]["result"]) where log.body["response"]["result"] != nil and log.body["response"]["result"] != ""
          - set(log.severity_number, SEVERITY_NUMBER_INFO)
          - set(log.severity_text, "INFO")
          - set(log.severity_number, SEVERITY_NUMBER_WARN) where log.attributes["http.response.status_code"] != nil and log.attributes["http.response.status_code"] >= 400
          - set(log.severity_text, "WARN") where log.severity_number == SEVERITY_NUMBER_WARN
          # Each request parameter as databricks.request_params.<key>.
          - set(log.cache["params"], log.body["requestParams"]) where IsMap(log.body["requestParams"])
          - flatten(log.cache["params"], "databricks.request_params") where IsMap(log.cache["params"])
          - merge_maps(log.attributes, log.cache["params"], "upsert") where IsMap(log.cache["params"])
          # A stable id from the identifying fields (not the receiver's hash: see BENCHMARKS.md).
          - set(log.attributes["databricks.event_id"], XXH128(Concat([String(log.body["timestamp"]), resource.attributes["databricks.workspace.id"], log.body["accountId"], log.body["serviceName"], log.body["actionName"], log.body["requestId"], log.body["sessionId"], log.attributes["user.email"], log.body["sourceIPAddress"], log.body["userAgent"], String(log.body["response"]), String(log.body["requestParams"])], "|")))
          # The securables the simulator's records carry, from the receiver's object table in its
          # priority order (the first match wins); the full table has about forty rules.
          - set(log.attributes["databricks.object.type"], ConvertCase(log.body["requestParams"]["securable_type"], "lower")) where log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["securable_full_name"] != nil and log.body["requestParams"]["securable_type"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["securable_full_name"]) where log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["securable_full_name"] != nil
          - set(log.attributes["databricks.object.type"], "table") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["table_full_name"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["table_full_name"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["table_full_name"] != nil
          - set(log.attributes["databricks.object.type"], "table") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["full_name_arg"] != nil and IsMatch(log.body["actionName"], "Table|View")
          - set(log.attributes["databricks.object.type"], "schema") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["full_name_arg"] != nil and IsMatch(log.body["actionName"], "Schema")
          - set(log.attributes["databricks.object.type"], "catalog") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["full_name_arg"] != nil and IsMatch(log.body["actionName"], "Catalog")
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["full_name_arg"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "unityCatalog" and log.body["requestParams"]["full_name_arg"] != nil
          - set(log.attributes["databricks.object.type"], "secret") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "secrets" and log.body["requestParams"]["key"] != nil
          - set(log.attributes["databricks.object.name"], Concat([log.body["requestParams"]["scope"], log.body["requestParams"]["key"]], "/")) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "secrets" and log.body["requestParams"]["key"] != nil
          - set(log.attributes["databricks.object.type"], "notebook") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "notebook" and log.body["requestParams"]["path"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["path"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "notebook" and log.body["requestParams"]["path"] != nil
          - set(log.attributes["databricks.object.type"], "notebook") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "workspace" and IsMatch(log.body["actionName"], "Export") and log.body["requestParams"]["notebookFullPath"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["notebookFullPath"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "workspace" and IsMatch(log.body["actionName"], "Export") and log.body["requestParams"]["notebookFullPath"] != nil
          - set(log.attributes["databricks.object.type"], "workspace_object") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "workspace" and log.body["requestParams"]["path"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["path"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "workspace" and log.body["requestParams"]["path"] != nil
          - set(log.attributes["databricks.object.type"], "job") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "jobs" and log.body["requestParams"]["job_id"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["job_id"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "jobs" and log.body["requestParams"]["job_id"] != nil
          - set(log.attributes["databricks.object.type"], "job") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "jobs" and log.body["requestParams"]["jobId"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["jobId"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "jobs" and log.body["requestParams"]["jobId"] != nil
          - set(log.attributes["databricks.object.type"], "query") where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "databrickssql" and log.body["requestParams"]["queryId"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["queryId"]) where log.attributes["databricks.object.name"] == nil and log.body["serviceName"] == "databrickssql" and log.body["requestParams"]["queryId"] != nil
          - set(log.attributes["databricks.object.type"], "cluster") where log.attributes["databricks.object.name"] == nil and log.body["requestParams"]["cluster_id"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["cluster_id"]) where log.attributes["databricks.object.name"] == nil and log.body["requestParams"]["cluster_id"] != nil
          - set(log.attributes["databricks.object.type"], "cluster") where log.attributes["databricks.object.name"] == nil and log.body["requestParams"]["clusterId"] != nil
          - set(log.attributes["databricks.object.name"], log.body["requestParams"]["clusterId"]) where log.attributes["databricks.object.name"] == nil and log.body["requestParams"]["clusterId"] != nil
          - set(log.attributes["databricks.object.type"], "securable") where log.attributes["databricks.object.name"] != nil and log.attributes["databricks.object.type"] == nil
          - set(resource.attributes["databricks.account.id"], log.body["accountId"]) where log.body["accountId"] != nil
exporters:
  file:
    path: %[2]s
%[5]sservice:
  extensions: [pprof]
%[3]s  pipelines:
    logs:
      receivers: [file_log]
      processors: [transform]
      exporters: [file]
`,
}

// fileExporterSettings is the YAML, indented for the file exporter's section, that makes it
// write format ("" or "json": its default, JSON lines; "proto": length-prefixed OTLP protobuf).
// Both ingestion pipelines always get the same.
func fileExporterSettings(format string) string {
	if format == "" || format == "json" {
		return ""
	}
	return "    format: " + format + "\n"
}
