// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type a = map[string]any

func withLists(l map[string][]string) func(*Config) {
	return func(c *Config) { c.Lists = l }
}

// TestMatchRules covers every built-in match rule with records that must
// fire it (checking severity and the finding's attributes) and records that
// must not, including the noise filters.
func TestMatchRules(t *testing.T) {
	tokenExp := func(d time.Duration) string { return strconv.FormatInt(base.Add(d).UnixMilli(), 10) }
	sensitive := withLists(map[string][]string{"sensitive_tables": {"main.hr.*", "*.pii_*"}})
	tests := []struct {
		name     string
		rule     string
		mutate   func(*Config)
		attrs    a
		wantFire bool
		severity string
	}{
		{"S01 setAdmin", "DBX-S01", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "databricks.request_params.targetUserName": "mallory@corp.com"}, true, "high"},
		{"S01 add to admins group", "DBX-S01", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "addPrincipalToGroup", "databricks.request_params.targetGroupName": "admins"}, true, "high"},
		{"S01 failed attempt is lower", "DBX-S01", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "setAccountAdmin", "http.response.status_code": int64(403)}, true, "medium"},
		{"S01 add to other group", "DBX-S01", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "addPrincipalToGroup", "databricks.request_params.targetGroupName": "analysts"}, false, ""},
		{"S01 custom admin group", "DBX-S01", withLists(map[string][]string{"admin_groups": {"platform-admins"}}), a{"databricks.service_name": "accounts", "databricks.action_name": "addPrincipalToGroup", "databricks.request_params.targetGroupName": "platform-admins"}, true, "high"},
		{"S01 System-User filtered", "DBX-S01", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin", "user.email": "System-User", "databricks.identity.type": "system"}, false, ""},
		{"S02 removeAdmin", "DBX-S02", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "removeAdmin"}, true, "medium"},
		{"S02 removed from admins", "DBX-S02", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "removePrincipalFromGroup", "databricks.request_params.targetGroupName": "admins"}, true, "medium"},
		{"S02 removed from other group", "DBX-S02", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "removePrincipalFromGroup", "databricks.request_params.targetGroupName": "readers"}, false, ""},
		{"S03 verbose audit off", "DBX-S03", nil, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "enableVerboseAuditLogs", "databricks.request_params.workspaceConfValues": "false"}, true, "critical"},
		{"S03 verbose audit on", "DBX-S03", nil, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "enableVerboseAuditLogs", "databricks.request_params.workspaceConfValues": "true"}, false, ""},
		{"S04 delete succeeded", "DBX-S04", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "deleteIpAccessList"}, true, "high"},
		{"S04 delete failed", "DBX-S04", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "deleteIpAccessList", "http.response.status_code": int64(403)}, true, "medium"},
		{"S04 ACL feature disabled", "DBX-S04", nil, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "enableIpAccessLists", "databricks.request_params.workspaceConfValues": "false"}, true, "high"},
		{"S04 open to the world", "DBX-S04", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "updateIpAccessList", "databricks.request_params.ip_addresses": "[\"0.0.0.0/0\"]"}, true, "high"},
		{"S04 ordinary create", "DBX-S04", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "createIpAccessList", "databricks.request_params.ip_addresses": "[\"203.0.113.0/24\"]"}, true, "medium"},
		{"S04 ACL feature enabled", "DBX-S04", nil, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "enableIpAccessLists", "databricks.request_params.workspaceConfValues": "true"}, false, ""},
		{"S05 downloads enabled", "DBX-S05", nil, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "enableResultsDownloading", "databricks.request_params.workspaceConfValues": "true"}, true, "medium"},
		{"S05 token lifetime", "DBX-S05", nil, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "maxTokenLifetimeDays", "databricks.request_params.workspaceConfValues": "3650"}, true, "high"},
		{"S05 downloads disabled", "DBX-S05", nil, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "enableResultsDownloading", "databricks.request_params.workspaceConfValues": "false"}, false, ""},
		{"S07 SSO updated", "DBX-S07", nil, a{"databricks.service_name": "ssoConfigBackend", "databricks.action_name": "update"}, true, "high"},
		{"S07 SSO read", "DBX-S07", nil, a{"databricks.service_name": "ssoConfigBackend", "databricks.action_name": "get"}, false, ""},
		{"S08 no expiry", "DBX-S08", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "generateDbToken"}, true, "high"},
		{"S08 expiry 0", "DBX-S08", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "generateDbToken", "databricks.request_params.tokenExpirationTime": "0"}, true, "high"},
		{"S08 two years", "DBX-S08", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "generateDbToken", "databricks.request_params.tokenExpirationTime": tokenExp(730 * 24 * time.Hour)}, true, "high"},
		{"S08 six months", "DBX-S08", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "generateDbToken", "databricks.request_params.tokenExpirationTime": tokenExp(180 * 24 * time.Hour)}, true, "medium"},
		{"S08 ten days", "DBX-S08", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "generateDbToken", "databricks.request_params.tokenExpirationTime": tokenExp(240 * time.Hour)}, true, "low"},
		{"S08 one day", "DBX-S08", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "generateDbToken", "databricks.request_params.tokenExpirationTime": tokenExp(24 * time.Hour)}, false, ""},
		{"S09 IP ACL denial", "DBX-S09", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "IpAccessDenied", "http.response.status_code": int64(403), "databricks.request_params.path": "/api/2.0/clusters/list"}, true, "low"},
		{"S09 delta sharing denial", "DBX-S09", nil, a{"databricks.action_name": "deltaSharingQueryTable", "databricks.request_params.is_ip_access_denied": "true"}, true, "low"},
		{"S09 telemetry path filtered", "DBX-S09", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "IpAccessDenied", "databricks.request_params.path": "/telemetry-unauth"}, false, ""},
		{"S09 service agent filtered", "DBX-S09", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "IpAccessDenied", "user_agent.original": "Apache-HttpClient Databricks-Service/driver"}, false, ""},
		{"S10 outside allowed", "DBX-S10", withLists(map[string][]string{"allowed_cidrs": {"203.0.113.0/24"}}), a{}, true, "high"},
		{"S10 inside allowed", "DBX-S10", withLists(map[string][]string{"allowed_cidrs": {"203.0.113.0/24"}}), a{"source.address": "203.0.113.40"}, false, ""},
		{"S10 private address filtered", "DBX-S10", withLists(map[string][]string{"allowed_cidrs": {"203.0.113.0/24"}}), a{"source.address": "10.1.2.3"}, false, ""},
		{"S10 failed request", "DBX-S10", withLists(map[string][]string{"allowed_cidrs": {"203.0.113.0/24"}}), a{"http.response.status_code": int64(403)}, false, ""},
		{"S10 inactive without allowed_cidrs", "DBX-S10", nil, a{}, false, ""},
		{"S11 password login", "DBX-S11", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "login", "databricks.request_params.authenticationMethod": "PASSWORD"}, true, "medium"},
		{"S11 SAML login", "DBX-S11", nil, a{"databricks.service_name": "accounts", "databricks.action_name": "login", "databricks.request_params.authenticationMethod": "BROWSER_BYO_IDP_SAML"}, false, ""},
		{"S11 break-glass account", "DBX-S11", withLists(map[string][]string{"break_glass_accounts": {"alice@corp.com"}}), a{"databricks.service_name": "accounts", "databricks.action_name": "login", "databricks.request_params.authenticationMethod": "PASSWORD"}, false, ""},
		{"S12 init script", "DBX-S12", nil, a{"databricks.service_name": "globalInitScripts", "databricks.action_name": "create", "databricks.request_params.name": "x.sh"}, true, "high"},
		{"S12 other service", "DBX-S12", nil, a{"databricks.service_name": "clusters", "databricks.action_name": "create"}, false, ""},
		{"S17 trufflehog", "DBX-S17", nil, a{"user_agent.original": "TruffleHog/3.63.2"}, true, "high"},
		{"S17 browser", "DBX-S17", nil, a{}, false, ""},
		{"S20 pii to account users", "DBX-S20", sensitive, a{"databricks.action_name": "updatePermissions", "databricks.request_params.securable_full_name": "main.sales.pii_customers", "databricks.request_params.changes": `[{"principal": "account users", "add": ["SELECT"]}]`}, true, "high"},
		{"S20 pii to a team", "DBX-S20", sensitive, a{"databricks.action_name": "updatePermissions", "databricks.request_params.securable_full_name": "main.sales.pii_customers", "databricks.request_params.changes": `[{"principal":"finance_users","add":["SELECT"]}]`}, false, ""},
		{"S20 ordinary table", "DBX-S20", sensitive, a{"databricks.action_name": "updatePermissions", "databricks.request_params.securable_full_name": "main.sales.orders", "databricks.request_params.changes": `[{"principal":"users","add":["SELECT"]}]`}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.mutate)
			r := audit(base, tt.attrs)
			got := withRule(h.feed(r), tt.rule)
			if !tt.wantFire {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			f := got[0]
			assert.Equal(t, tt.severity, attrStr(f, "anomaly.severity"))
			assert.Equal(t, "match", attrStr(f, "anomaly.detector"))
			assert.Equal(t, "live", attrStr(f, "anomaly.mode"))
			assert.Equal(t, "databricks-access-anomaly", attrStr(f, "security_rule.ruleset.name"))
			assert.Equal(t, r.attrs["user.email"], attrStr(f, "user.email"))
			assert.Equal(t, r.attrs["source.address"], attrStr(f, "source.address"))
			assert.Equal(t, r.attrs["databricks.action_name"], attrStr(f, "databricks.action_name"))
			assert.Equal(t, "1", attrStr(f, "alert.count"))
			ids, _ := f.Attributes().Get("databricks.event_ids")
			require.Equal(t, 1, ids.Slice().Len())
			assert.Equal(t, r.attrs["databricks.event_id"], ids.Slice().At(0).Str())
			tech, _ := f.Attributes().Get("threat.technique.id")
			assert.Positive(t, tech.Slice().Len())
			assert.Equal(t, base.UTC().Format(time.RFC3339Nano), attrStr(f, "alert.first_event_time"))
			assert.Contains(t, f.Body().Str(), "alice@corp.com: ")
			assert.Equal(t, tt.rule+"|alice@corp.com", attrStr(f, "alert.dedup_key"))
		})
	}
}
