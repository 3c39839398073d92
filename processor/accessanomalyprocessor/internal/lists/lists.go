// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

// Package lists holds the named value lists rules refer to (InList, IsInCIDR,
// noise filters) and matches values against them without allocating.
package lists // import "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/lists"

import (
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strings"
)

// Well-known list names used by the built-in rule pack and the noise filters.
const (
	LoginActions       = "login_actions"
	ServiceUserAgents  = "service_user_agents"
	ExcludedPaths      = "excluded_paths"
	SystemIdentities   = "system_identities"
	AdminGroups        = "admin_groups"
	SensitiveTables    = "sensitive_tables"
	AllowedCIDRs       = "allowed_cidrs"
	BroadPrincipals    = "broad_principals"
	ScannerUserAgents  = "scanner_user_agents"
	EmbargoedCountries = "embargoed_countries"
	BreakGlassAccounts = "break_glass_accounts"
	AdminIdentities    = "admin_identities"
	PermissionChanges  = "permission_change_actions"
	WeakeningSettings  = "weakening_workspace_settings"
	SecurityActions    = "security_actions"
)

var permissionChangeActions = []string{
	"addPrincipalToGroup", "changeDatabricksSqlAcl", "changeDatabricksWorkspaceAcl", "changeDbTokenAcl",
	"changePasswordAcl", "changeServicePrincipalAcls", "generateDbToken", "setAdmin", "changeClusterAcl",
	"changeClusterPolicyAcl", "changeWarehouseAcls", "changePermissions", "transferObjectOwnership",
	"changePipelineAcls", "changeFeatureTableAcl", "changeIamRoleAcl", "changeInstancePoolAcl", "changeJobAcl",
	"resetJobAcl", "changeRegisteredModelAcl", "changeInferenceEndpointAcl", "putAcl", "changeSecurableOwner",
	"grantPermission", "changeWorkspaceAcl", "updateRoleAssignment", "setAccountAdmin", "changeAccountOwner",
	"updatePermissions", "updateSharePermissions",
}

// Defaults are the lists every configuration starts from; the user's `lists`
// replace a default list of the same name entirely, so a default can be emptied.
func Defaults() map[string][]string {
	return map[string][]string{
		LoginActions: {
			"aadBrowserLogin", "aadTokenLogin", "certLogin", "jwtLogin", "login", "mfaLogin",
			"multiFactorAuthenticationLogin", "oidcBrowserLogin", "passwordVerifyAuthentication",
			"samlLogin", "tokenLogin",
		},
		ServiceUserAgents: {
			"databricks", "Databricks-Service/driver", "Databricks-Runtime",
			"Delta-Sharing-SparkStructuredStreaming", "RawDBHttpClient", "mlflow-python",
			"obsSDK-scala", "wsfs", "feature-store", "dbr:",
		},
		ExcludedPaths:      {"telemetry", "delta-commit", "health", "metrics", "status"},
		SystemIdentities:   {"System-User", "unknown"},
		AdminGroups:        {"admins"},
		SensitiveTables:    {},
		AllowedCIDRs:       {},
		BroadPrincipals:    {"account users", "users", "all users"},
		ScannerUserAgents:  {"trufflehog", "gitleaks", "nuclei", "sqlmap", "nikto"},
		EmbargoedCountries: {},
		BreakGlassAccounts: {},
		AdminIdentities:    {},
		PermissionChanges:  append([]string(nil), permissionChangeActions...),
		WeakeningSettings: {
			"enableResultsDownloading=true", "enableExportNotebook=true", "enableNotebookTableClipboard=true",
			"enableFileStoreEndpoint=true", "storeInteractiveNotebookResultsInCustomerAccount=false",
			"enforceUserIsolation=false", "enableJobViewAcls=false", "enforceClusterViewAcls=false",
			"enforceWorkspaceViewAcls=false", "maxTokenLifetimeDays=*", "enableTokensConfig=*",
			"enableDbfsFileBrowser=true", "enableEnforceImdsV2=false", "customerApprovedWSLoginExpirationTime=*",
			"enableWebTerminal=true",
		},
		SecurityActions: append(append([]string(nil), permissionChangeActions...),
			"removeAdmin", "removeAccountAdmin", "removePrincipalFromGroup", "workspaceConfEdit", "setSetting",
			"createIpAccessList", "updateIpAccessList", "replaceIpAccessList", "deleteIpAccessList",
			"revokeDbToken", "mintOAuthToken", "getSecret", "putSecret", "deleteSecret", "createScope", "deleteScope",
			"listScopes", "createRecipient", "updateRecipient", "createShare", "updateShare", "updateMetastore",
			"createStorageCredential", "updateStorageCredential", "createConnection", "updateConnection", "mount",
			"installLibraryOnAllClusters", "mfaDeleteKey", "mfaAddKey", "createServicePrincipal", "add", "delete",
			"activateUser", "deactivateUser", "createGroup", "removeGroup", "workspaceExport",
			"downloadLargeResults", "downloadPreviewResults"),
	}
}

// Merge returns the default lists with the user's lists laid over them.
func Merge(user map[string][]string) map[string][]string {
	out := Defaults()
	for name, values := range user {
		out[name] = values
	}
	return out
}

// Matcher matches a value against one named list: exact entries through a map,
// glob entries (containing *, ? or [) through path.Match, substrings for
// Contains.
type Matcher struct {
	name  string
	exact map[string]struct{}
	globs []string
	lower []string
}

// NewMatcher compiles one list; a malformed glob is an error naming the list.
func NewMatcher(name string, values []string) (*Matcher, error) {
	m := &Matcher{name: name, exact: make(map[string]struct{}, len(values))}
	for _, v := range values {
		m.lower = append(m.lower, strings.ToLower(v))
		if strings.ContainsAny(v, "*?[") {
			if _, err := path.Match(v, ""); err != nil {
				return nil, fmt.Errorf("list %q: bad pattern %q: %w", name, v, err)
			}
			m.globs = append(m.globs, v)
			continue
		}
		m.exact[v] = struct{}{}
	}
	return m, nil
}

// Name of the list.
func (m *Matcher) Name() string { return m.name }

// Len is the number of entries.
func (m *Matcher) Len() int { return len(m.exact) + len(m.globs) }

// Match reports an exact or glob match. Globs treat '/' like any other
// character so that `*.pii_*` matches `main.hr.pii_salaries`.
func (m *Matcher) Match(v string) bool {
	if m == nil {
		return false
	}
	if _, ok := m.exact[v]; ok {
		return true
	}
	for _, g := range m.globs {
		if globMatch(g, v) {
			return true
		}
	}
	return false
}

// Contains reports whether v contains any entry, case-insensitively (the
// semantics of Panther's is_service_agent for user agents and paths).
func (m *Matcher) Contains(v string) bool {
	if m == nil || v == "" {
		return false
	}
	for _, e := range m.lower {
		if e != "" && containsFold(v, e) {
			return true
		}
	}
	return false
}

// containsFold is strings.Contains(strings.ToLower(s), lowerSub) without
// allocating.
func containsFold(s, lowerSub string) bool {
	n := len(lowerSub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lowerSub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// globMatch matches '*' (any run, including '/' and '.'), '?' (one byte) and
// falls back to path.Match for character classes.
func globMatch(pattern, s string) bool {
	if strings.ContainsRune(pattern, '[') {
		ok, _ := path.Match(pattern, s)
		return ok
	}
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// CIDRSet is a list of networks; plain addresses count as single-host networks.
type CIDRSet struct {
	prefixes []netip.Prefix
}

// NewCIDRSet parses CIDRs or addresses; errors name the offending entry.
func NewCIDRSet(name string, values []string) (*CIDRSet, error) {
	s := &CIDRSet{}
	for _, v := range values {
		p, err := ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", name, err)
		}
		s.prefixes = append(s.prefixes, p)
	}
	sort.Slice(s.prefixes, func(i, j int) bool { return s.prefixes[i].Bits() < s.prefixes[j].Bits() })
	return s, nil
}

// ParsePrefix accepts "10.0.0.0/8" or "10.1.2.3".
func ParsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q: %w", v, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad CIDR or address %q: %w", v, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Len is the number of networks.
func (s *CIDRSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.prefixes)
}

// Contains reports whether addr is inside any network.
func (s *CIDRSet) Contains(addr netip.Addr) bool {
	if s == nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Set is every named list compiled once.
type Set struct {
	matchers map[string]*Matcher
	cidrs    map[string]*CIDRSet
	raw      map[string][]string
}

// Compile compiles every list. CIDR sets are built lazily only for lists
// that parse as networks, so a list of table globs is never mistaken for one.
func Compile(all map[string][]string) (*Set, error) {
	s := &Set{matchers: map[string]*Matcher{}, cidrs: map[string]*CIDRSet{}, raw: all}
	for name, values := range all {
		m, err := NewMatcher(name, values)
		if err != nil {
			return nil, err
		}
		s.matchers[name] = m
		if c, err := NewCIDRSet(name, values); err == nil {
			s.cidrs[name] = c
		}
	}
	if _, err := NewCIDRSet(AllowedCIDRs, all[AllowedCIDRs]); err != nil {
		return nil, err
	}
	return s, nil
}

// Matcher returns the named list, or nil when it does not exist.
func (s *Set) Matcher(name string) *Matcher { return s.matchers[name] }

// CIDRs returns the named list as networks, or nil when it is not a network list.
func (s *Set) CIDRs(name string) *CIDRSet { return s.cidrs[name] }

// Has reports whether the list exists.
func (s *Set) Has(name string) bool { _, ok := s.raw[name]; return ok }

// Len is the number of entries of the named list (0 when absent).
func (s *Set) Len(name string) int { return len(s.raw[name]) }

// Raw returns the entries of the named list as configured.
func (s *Set) Raw(name string) []string { return s.raw[name] }
