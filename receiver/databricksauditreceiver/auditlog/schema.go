package auditlog

// Source names the form an audit event was read from; it becomes databricks.audit.source.
type Source string

const (
	SourceSystemTable      Source = "system_table"
	SourceDelivery         Source = "delivery"
	SourceAzureDiagnostics Source = "azure_diagnostics"
)

// EventName is the event.name of every audit record.
const EventName = "databricks.audit"

// Log record attribute names (DESIGN §3.1). Other components match on these, so they are the
// contract; change them only together with DESIGN.
const (
	AttrEventName          = "event.name"
	AttrServiceName        = "databricks.service_name"
	AttrActionName         = "databricks.action_name"
	AttrEventID            = "databricks.event_id"
	AttrRequestID          = "databricks.request_id"
	AttrSessionID          = "databricks.session_id"
	AttrAuditLevel         = "databricks.audit_level"
	AttrRequestParamPrefix = "databricks.request_params."
	AttrUserEmail          = "user.email"
	AttrIdentityType       = "databricks.identity.type"
	AttrIdentityRunBy      = "databricks.identity.run_by"
	AttrIdentityRunAs      = "databricks.identity.run_as"
	AttrSourceAddress      = "source.address"
	AttrUserAgent          = "user_agent.original"
	AttrStatusCode         = "http.response.status_code"
	AttrErrorMessage       = "databricks.response.error_message"
	AttrResult             = "databricks.response.result"
	AttrObjectType         = "databricks.object.type"
	AttrObjectName         = "databricks.object.name"
	AttrAuditSource        = "databricks.audit.source"
)

// Resource attribute names.
const (
	ResAttrWorkspaceID   = "databricks.workspace.id"
	ResAttrAccountID     = "databricks.account.id"
	ResAttrCloudProvider = "cloud.provider"
	// ResAttrCloudResourceID carries the Azure ARM id of the workspace: Azure diagnostic records
	// name the workspace only that way, never by its numeric id.
	ResAttrCloudResourceID = "cloud.resource_id"
)

// Values of databricks.identity.type.
const (
	IdentityUser             = "user"
	IdentityServicePrincipal = "service_principal"
	IdentitySystem           = "system"
	IdentityUnknown          = "unknown"
)

// Values of cloud.provider (OpenTelemetry semantic conventions).
const (
	CloudAWS   = "aws"
	CloudAzure = "azure"
	CloudGCP   = "gcp"
)
