package auditlog

import "strings"

// objectRule names the securable an action works on: the first rule whose service matches
// ("" = any service) and whose action contains actionPart ("" = any action) and that finds a
// non-empty parameter among keys wins. Rules are ordered from specific to generic.
type objectRule struct {
	service    string
	actionPart string
	keys       []string
	typ        string                          // fixed object type, or
	typeOf     func(e *Event) string           // computed object type
	nameOf     func(e *Event, v string) string // nil: the parameter value itself
}

var objectRules = []objectRule{
	// Unity Catalog (reference §2.6).
	{service: "unityCatalog", keys: []string{"securable_full_name"}, typeOf: securableType},
	{service: "unityCatalog", keys: []string{"table_full_name"}, typ: "table"},
	{service: "unityCatalog", keys: []string{"volume_full_name"}, typ: "volume"},
	{service: "unityCatalog", keys: []string{"full_name_arg", "name_arg"}, typeOf: ucTypeFromAction},
	{service: "unityCatalog", actionPart: "deltaSharing", keys: []string{"share"}, typ: "share", nameOf: shareTable},
	{service: "unityCatalog", actionPart: "Recipient", keys: []string{"name", "recipient_name"}, typ: "recipient"},
	{service: "unityCatalog", actionPart: "Share", keys: []string{"name", "share"}, typ: "share"},
	{service: "unityCatalog", keys: []string{"name"}, typeOf: ucTypeFromAction, nameOf: ucFullName},
	{service: "unityCatalog", keys: []string{"schema_name"}, typ: "schema", nameOf: ucSchemaName},
	{service: "unityCatalog", keys: []string{"catalog_name"}, typ: "catalog"},
	{service: "unityCatalog", keys: []string{"url"}, typ: "path"},
	{service: "unityCatalog", keys: []string{"metastore_id"}, typ: "metastore"},
	// Secrets (§2.7): a key within its scope, or the scope.
	{service: "secrets", keys: []string{"key"}, typ: "secret", nameOf: secretName},
	{service: "secrets", keys: []string{"scope"}, typ: "secret_scope"},
	// Identity (§2.4) and networks (§2.2).
	{keys: []string{"targetGroupName"}, typ: "group"},
	{keys: []string{"targetServicePrincipal"}, typ: "service_principal"},
	{keys: []string{"targetUserName"}, typ: "user"},
	{keys: []string{"ipAccessListId", "ip_access_list_id", "list_id"}, actionPart: "IpAccessList", typ: "ip_access_list"},
	// Tokens (§2.3).
	{service: "accounts", actionPart: "Token", keys: []string{"tokenId", "tokenHash", "token_id"}, typ: "token"},
	{service: "tokenManagement", keys: []string{"tokenId", "token_id"}, typ: "token"},
	// Workspace settings and objects (§2.8), notebooks (§2.9).
	{service: "workspace", actionPart: "workspaceConfEdit", keys: []string{"workspaceConfKeys"}, typ: "workspace_setting"},
	{service: "notebook", keys: []string{"notebookFullPath", "path", "notebookId"}, typ: "notebook"},
	{service: "workspace", actionPart: "Export", keys: []string{"notebookFullPath", "path"}, typ: "notebook"},
	{service: "workspace", keys: []string{"path", "notebookFullPath"}, typ: "workspace_object"},
	// Compute, jobs, SQL (§2.10–2.13).
	{service: "clusterPolicies", keys: []string{"policy_id", "policyId"}, typ: "cluster_policy"},
	{service: "instancePools", keys: []string{"instance_pool_id", "instancePoolId"}, typ: "instance_pool"},
	{service: "globalInitScripts", keys: []string{"script_id", "name"}, typ: "global_init_script"},
	{service: "dbfs", keys: []string{"mountPoint", "path"}, typ: "dbfs_path"},
	{service: "jobs", keys: []string{"job_id", "jobId"}, typ: "job"},
	{service: "jobs", keys: []string{"run_id", "runId"}, typ: "job_run"},
	{service: "databrickssql", keys: []string{"warehouseId", "warehouse_id", "endpointId"}, typ: "warehouse"},
	{service: "databrickssql", actionPart: "Warehouse", keys: []string{"id"}, typ: "warehouse"},
	{service: "databrickssql", keys: []string{"queryId", "query_id"}, typ: "query"},
	{service: "databrickssql", keys: []string{"dashboardId", "dashboard_id"}, typ: "dashboard"},
	{keys: []string{"cluster_id", "clusterId"}, typ: "cluster"},
	{keys: []string{"job_id", "jobId"}, typ: "job"},
	{keys: []string{"warehouse_id", "warehouseId"}, typ: "warehouse"},
	{keys: []string{"notebookFullPath", "notebook_path"}, typ: "notebook"},
}

// objectOf returns the type and name of the object the event acted on, or "", "".
func objectOf(e *Event) (typ, name string) {
	for i := range objectRules {
		r := &objectRules[i]
		if r.service != "" && r.service != e.ServiceName {
			continue
		}
		if r.actionPart != "" && !strings.Contains(e.ActionName, r.actionPart) {
			continue
		}
		for _, k := range r.keys {
			v := e.param(k)
			if v == "" {
				continue
			}
			if r.nameOf != nil {
				v = r.nameOf(e, v)
			}
			if r.typeOf != nil {
				return r.typeOf(e), v
			}
			return r.typ, v
		}
	}
	return "", ""
}

func securableType(e *Event) string {
	if t := e.param("securable_type"); t != "" {
		return strings.ToLower(t)
	}
	return "securable"
}

// ucTypeFromAction reads the securable type off the action name (getTable, deleteSchema,
// updateCatalog, ...).
func ucTypeFromAction(e *Event) string {
	a := e.ActionName
	for _, t := range [...]struct{ part, typ string }{
		{"Table", "table"}, {"View", "table"}, {"Schema", "schema"}, {"Catalog", "catalog"},
		{"Volume", "volume"}, {"Function", "function"}, {"RegisteredModel", "registered_model"},
		{"ModelVersion", "model_version"}, {"ExternalLocation", "external_location"},
		{"StorageCredential", "storage_credential"}, {"Connection", "connection"},
		{"Metastore", "metastore"},
	} {
		if strings.Contains(a, t.part) {
			return t.typ
		}
	}
	return "securable"
}

// ucFullName qualifies a bare securable name with catalog_name/schema_name when given.
func ucFullName(e *Event, name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	catalog, schema := e.param("catalog_name"), e.param("schema_name")
	switch {
	case catalog != "" && schema != "":
		return catalog + "." + schema + "." + name
	case catalog != "":
		return catalog + "." + name
	}
	return name
}

func ucSchemaName(e *Event, schema string) string {
	if c := e.param("catalog_name"); c != "" && !strings.Contains(schema, ".") {
		return c + "." + schema
	}
	return schema
}

func shareTable(e *Event, share string) string {
	parts := []string{share}
	if s := e.param("schema"); s != "" {
		parts = append(parts, s)
	}
	if n := e.param("name"); n != "" {
		parts = append(parts, n)
	}
	return strings.Join(parts, ".")
}

func secretName(e *Event, key string) string {
	if scope := e.param("scope"); scope != "" {
		return scope + "/" + key
	}
	return key
}
