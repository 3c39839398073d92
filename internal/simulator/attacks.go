package simulator

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// Expectation is one line of the ground truth: the rule that should fire, for whom, when.
type Expectation struct {
	Rule          string    `json:"rule" yaml:"rule"`
	Identity      string    `json:"identity" yaml:"identity"` // user.email of the triggering events
	SourceAddress string    `json:"source_address,omitempty" yaml:"source_address,omitempty"`
	From          time.Time `json:"from" yaml:"from"`
	To            time.Time `json:"to" yaml:"to"`
	Events        int       `json:"events" yaml:"events"`
	// Related rules are expected to fire too as a side effect of the same events.
	Related     []string `json:"related,omitempty" yaml:"related,omitempty"`
	Description string   `json:"description" yaml:"description"`
}

// attackCtx is handed to a rule's generator.
type attackCtx struct {
	s     *Scenario
	b     *eventBuilder
	pop   *Population
	r     *rand.Rand
	at    time.Time
	spec  AttackSpec
	actor *Principal
	label string
	out   []AuditEvent
	ip    string
	ua    string
	sess  string
}

// emit appends an event by the attacking identity at offset d from the attack time.
func (c *attackCtx) emit(d time.Duration, svc, act string, params map[string]string, status int) *AuditEvent {
	e := withClient(c.b.event(c.label, c.at.Add(d), c.actor, svc, act, params, status), c.ip, c.ua, c.sess)
	e.Attack = c.spec.Rule
	c.out = append(c.out, e)
	return &c.out[len(c.out)-1]
}

func (c *attackCtx) count(def int) int {
	if c.spec.Count > 0 {
		return c.spec.Count
	}
	return def
}

// spread returns the offset of event i of n spread over span.
func spread(i, n int, span time.Duration) time.Duration {
	if n <= 1 {
		return 0
	}
	return span * time.Duration(i) / time.Duration(n-1)
}

type attackGen struct {
	description string
	related     []string
	gen         func(c *attackCtx)
}

// attackerIP is a public address outside the corporate networks and outside every network
// normal behaviour uses (TEST-NET-1).
func attackerIP(r *rand.Rand) string { return addrIn("192.0.2.0/24", 10+r.IntN(200)) }

const attackerUA = "python-requests/2.32.3"

// loginParams carries the authentication method under both spellings the references use
// (databricks.md: authenticationMethod; detections.md S11: authentication_method).
func loginParams(email, method string) map[string]string {
	return map[string]string{"user": email, "authenticationMethod": method, "authentication_method": method}
}

// attackGenerators: one per rule id of the built-in pack (DESIGN §3.3), each producing the audit
// events reference/detections.md says the rule looks for.
var attackGenerators = map[string]attackGen{
	"DBX-S01": {"workspace admin granted: principal added to the admins group", []string{"DBX-W06"}, func(c *attackCtx) {
		target := c.pop.pickUser(c.r)
		c.emit(0, "accounts", "addPrincipalToGroup", map[string]string{"targetUserName": target.Email, "targetUserId": target.ID,
			"targetGroupName": "admins", "targetGroupId": stableDigits(16, "group", "admins"), "endpoint": "adminConsole"}, 200)
		c.emit(30*time.Second, "accounts", "setAdmin", map[string]string{"targetUserName": target.Email, "targetUserId": target.ID, "endpoint": "adminConsole"}, 200)
	}},
	"DBX-S02": {"workspace admin removed from the admins group", nil, func(c *attackCtx) {
		admin := c.pop.Users[0]
		c.emit(0, "accounts", "removePrincipalFromGroup", map[string]string{"targetUserName": admin.Email, "targetUserId": admin.ID,
			"targetGroupName": "admins", "targetGroupId": stableDigits(16, "group", "admins"), "endpoint": "adminConsole"}, 200)
		c.emit(20*time.Second, "accounts", "removeAdmin", map[string]string{"targetUserName": admin.Email, "targetUserId": admin.ID, "endpoint": "adminConsole"}, 200)
	}},
	"DBX-S03": {"verbose audit logging disabled", []string{"DBX-S05"}, func(c *attackCtx) {
		c.emit(0, "workspace", "workspaceConfEdit", map[string]string{"workspaceConfKeys": "enableVerboseAuditLogs", "workspaceConfValues": "false"}, 200)
	}},
	"DBX-S04": {"IP access list deleted", nil, func(c *attackCtx) {
		c.emit(0, "accounts", "deleteIpAccessList", map[string]string{"ipAccessListId": stableUUID(c.label, "acl"), "userId": c.actor.ID}, 200)
	}},
	"DBX-S05": {"security-weakening workspace setting: notebook export and results download enabled", nil, func(c *attackCtx) {
		c.emit(0, "workspace", "workspaceConfEdit", map[string]string{"workspaceConfKeys": "enableExportNotebook", "workspaceConfValues": "true"}, 200)
		c.emit(40*time.Second, "workspace", "workspaceConfEdit", map[string]string{"workspaceConfKeys": "enableResultsDownloading", "workspaceConfValues": "true"}, 200)
	}},
	"DBX-S07": {"SSO configuration changed", nil, func(c *attackCtx) {
		c.emit(0, "ssoConfigBackend", "update", map[string]string{"status": "ACTIVE", "config": `{"issuer_url":"https://idp.attacker.example/","enable_jit":true}`}, 200)
	}},
	"DBX-S08": {"personal access token created with a two-year lifetime", nil, func(c *attackCtx) {
		exp := c.at.Add(730 * 24 * time.Hour).UnixMilli()
		c.emit(0, "accounts", "generateDbToken", map[string]string{"userId": c.actor.ID, "tokenExpirationTime": strconv.FormatInt(exp, 10),
			"tokenHash": stableHex(64, c.label, "token")}, 200)
	}},
	"DBX-S09": {"request denied by the IP access list", nil, func(c *attackCtx) {
		c.ip = attackerIP(c.r)
		c.emit(0, "accounts", "IpAccessDenied", map[string]string{"path": "/api/2.0/clusters/list", "user": c.actor.Email}, 403).ErrorMessage = "Source IP address is blocked by the IP access list"
	}},
	"DBX-S10": {"successful access from outside the allowed networks", []string{"DBX-B01"}, func(c *attackCtx) {
		c.ip = attackerIP(c.r)
		c.emit(0, "accounts", "tokenLogin", map[string]string{"user": c.actor.Email, "tokenId": stableHex(32, c.actor.Email, "pat"), "authenticationMethod": "API_EXT_PAT_TOKEN"}, 200)
		c.emit(5*time.Second, "unityCatalog", "getTable", map[string]string{"full_name_arg": pick(c.r, c.actor.Tables)}, 200)
	}},
	"DBX-S11": {"interactive login with a password instead of SSO", nil, func(c *attackCtx) {
		c.emit(0, "accounts", "login", loginParams(c.actor.Email, "PASSWORD"), 200)
	}},
	"DBX-S12": {"global init script created", nil, func(c *attackCtx) {
		c.emit(0, "globalInitScripts", "create", map[string]string{"name": "monitoring-agent", "script_id": stableHex(16, c.label), "enabled": "true",
			"position": "0", "script-SHA256": stableHex(64, c.label, "script")}, 200)
	}},
	"DBX-S17": {"credential scanner (TruffleHog) user agent", []string{"DBX-B03"}, func(c *attackCtx) {
		c.ua = "TruffleHog"
		c.emit(0, "accounts", "tokenLogin", map[string]string{"user": c.actor.Email, "tokenId": stableHex(32, c.label, "leaked"), "authenticationMethod": "API_EXT_PAT_TOKEN"}, 200)
		c.emit(2*time.Second, "workspace", "getRoleAssignment", map[string]string{}, 200)
	}},
	"DBX-S20": {"sensitive table granted to all account users", []string{"DBX-W06"}, func(c *attackCtx) {
		c.emit(0, "unityCatalog", "updatePermissions", map[string]string{"securable_type": "table", "securable_full_name": SensitiveTables[0],
			"changes": `[{"principal":"account users","add":["SELECT"]}]`}, 200)
	}},
	"DBX-W01": {"failed-login burst for one identity", nil, func(c *attackCtx) {
		n := c.count(8)
		for i := 0; i < n; i++ {
			c.emit(spread(i, n, 12*time.Minute), "accounts", "samlLogin", loginParams(c.actor.Email, "BROWSER_BYO_IDP_SAML"), 401).ErrorMessage = "SAML assertion validation failed"
		}
	}},
	"DBX-W01b": {"password spray: one address failing logins for many identities", nil, func(c *attackCtx) {
		n := c.count(14)
		users := append([]*Principal(nil), c.pop.Users...)
		c.r.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
		for i := 0; i < n; i++ {
			c.actor = users[i%len(users)]
			c.emit(spread(i, n, 25*time.Minute), "accounts", "login", loginParams(c.actor.Email, "PASSWORD"), 401).ErrorMessage = "Invalid username or password"
		}
	}},
	"DBX-W02": {"failed logins followed by a successful login", []string{"DBX-W01"}, func(c *attackCtx) {
		n := c.count(6)
		for i := 0; i < n; i++ {
			c.emit(spread(i, n, 8*time.Minute), "accounts", "login", loginParams(c.actor.Email, "PASSWORD"), 401).ErrorMessage = "Invalid username or password"
		}
		c.emit(9*time.Minute, "accounts", "login", loginParams(c.actor.Email, "PASSWORD"), 200)
	}},
	"DBX-W04": {"mass download and export", nil, func(c *attackCtx) {
		n := c.count(26)
		for i := 0; i < n; i++ {
			d := spread(i, n, 35*time.Minute)
			switch i % 3 {
			case 0:
				c.emit(d, "workspace", "workspaceExport", map[string]string{"notebookFullPath": fmt.Sprintf("/Shared/reports/report-%d", i), "workspaceExportFormat": "HTML", "workspaceExportDirectDownload": "true"}, 200)
			case 1:
				c.emit(d, "databrickssql", "downloadQueryResult", map[string]string{"queryId": stableUUID(c.label, i), "queryResultId": stableUUID(c.label, "r", i), "fileType": "csv"}, 200)
			default:
				c.emit(d, "notebook", "downloadLargeResults", map[string]string{"notebookId": stableDigits(16, c.label, i), "notebookFullPath": fmt.Sprintf("/Shared/explore-%d", i)}, 200)
			}
		}
	}},
	"DBX-W05": {"secret enumeration: many distinct secrets read", nil, func(c *attackCtx) {
		n := c.count(14)
		c.emit(0, "secrets", "listScopes", map[string]string{}, 200)
		for i := 0; i < n; i++ {
			c.emit(time.Minute+spread(i, n, 15*time.Minute), "secrets", "getSecret", map[string]string{"scope": secretScopes[i%len(secretScopes)], "key": fmt.Sprintf("%s-%d", secretKeys[i%len(secretKeys)], i)}, 200)
		}
	}},
	"DBX-W06": {"permission-change burst", nil, func(c *attackCtx) {
		n := c.count(30)
		acts := [][2]string{{"clusters", "changeClusterAcl"}, {"jobs", "changeJobAcl"}, {"unityCatalog", "updatePermissions"}, {"databrickssql", "changeWarehouseAcls"}, {"workspace", "changeWorkspaceAcl"}}
		for i := 0; i < n; i++ {
			a := acts[i%len(acts)]
			p := map[string]string{"aclPermissionSet": "CAN_MANAGE", "targetUserId": c.actor.ID, "resourceId": stableDigits(16, c.label, i)}
			if a[0] == "unityCatalog" {
				p = map[string]string{"securable_type": "table", "securable_full_name": c.pop.AllTables[i%len(c.pop.AllTables)], "changes": `[{"principal":"` + c.actor.Email + `","add":["ALL_PRIVILEGES"]}]`}
			}
			c.emit(spread(i, n, 40*time.Minute), a[0], a[1], p, 200)
		}
	}},
	"DBX-W07": {"Unity Catalog authorization probing: many denied requests", nil, func(c *attackCtx) {
		n := c.count(30)
		for i := 0; i < n; i++ {
			tbl := c.pop.AllTables[(i*7)%len(c.pop.AllTables)]
			if i%2 == 0 {
				c.emit(spread(i, n, 30*time.Minute), "unityCatalog", "getTable", map[string]string{"full_name_arg": tbl}, 403)
			} else {
				c.emit(spread(i, n, 30*time.Minute), "unityCatalog", "generateTemporaryTableCredential", map[string]string{"table_full_name": tbl, "table_id": stableUUID("table", tbl), "operation": "READ"}, 403)
			}
		}
	}},
	"DBX-W08": {"destructive burst: many deletes", nil, func(c *attackCtx) {
		n := c.count(60)
		for i := 0; i < n; i++ {
			d := spread(i, n, 3*time.Hour)
			switch i % 4 {
			case 0:
				c.emit(d, "notebook", "deleteNotebook", map[string]string{"notebookId": stableDigits(16, c.label, i), "path": fmt.Sprintf("/Shared/project/nb-%d", i)}, 200)
			case 1:
				c.emit(d, "workspace", "fileDelete", map[string]string{"path": fmt.Sprintf("/Shared/project/file-%d.py", i)}, 200)
			case 2:
				c.emit(d, "unityCatalog", "deleteTable", map[string]string{"full_name_arg": c.pop.AllTables[i%len(c.pop.AllTables)]}, 200)
			default:
				c.emit(d, "jobs", "delete", map[string]string{"job_id": stableDigits(15, c.label, i)}, 200)
			}
		}
	}},
	"DBX-B01": {"successful activity from a network never seen for the identity", []string{"DBX-S10"}, func(c *attackCtx) {
		c.ip = addrIn("175.16.199.0/24", 20+c.r.IntN(200))
		c.emit(0, "accounts", "samlLogin", loginParams(c.actor.Email, "BROWSER_BYO_IDP_SAML"), 200)
		c.emit(time.Minute, "unityCatalog", "getTable", map[string]string{"full_name_arg": pick(c.r, c.actor.Tables)}, 200)
	}},
	"DBX-B03": {"first-seen client family for the identity", nil, func(c *attackCtx) {
		c.ua = "curl/8.11.1"
		c.emit(0, "accounts", "tokenLogin", map[string]string{"user": c.actor.Email, "tokenId": stableHex(32, c.actor.Email, "pat"), "authenticationMethod": "API_EXT_PAT_TOKEN"}, 200)
		c.emit(3*time.Second, "unityCatalog", "getTable", map[string]string{"full_name_arg": pick(c.r, c.actor.Tables)}, 200)
	}},
	"DBX-B05": {"impossible travel: London then Changchun within 20 minutes", []string{"DBX-B01", "DBX-S10"}, func(c *attackCtx) {
		c.ip = addrIn("81.2.69.142/31", 0)
		c.emit(0, "accounts", "samlLogin", loginParams(c.actor.Email, "BROWSER_BYO_IDP_SAML"), 200)
		c.ip = addrIn("175.16.199.0/24", 50+c.r.IntN(100))
		c.emit(20*time.Minute, "accounts", "samlLogin", loginParams(c.actor.Email, "BROWSER_BYO_IDP_SAML"), 200)
	}},
	"DBX-B06": {"rare security action for the identity", nil, func(c *attackCtx) {
		c.emit(0, "accounts", "changeDbTokenAcl", map[string]string{"aclPermissionSet": "CAN_USE", "targetUserId": stableDigits(16, c.label), "resourceId": "tokens", "shardName": c.s.Workspace.Shard}, 200)
	}},
	"DBX-B07": {"data-access volume spike", nil, func(c *attackCtx) {
		n := c.count(160)
		for i := 0; i < n; i++ {
			tbl := c.actor.Tables[i%min(3, len(c.actor.Tables))]
			c.emit(spread(i, n, 50*time.Minute), "unityCatalog", "generateTemporaryTableCredential", map[string]string{"table_full_name": tbl, "table_id": stableUUID("table", tbl), "operation": "READ"}, 200)
		}
	}},
	"DBX-B08": {"distinct-tables-read spike", nil, func(c *attackCtx) {
		n := c.count(40)
		for i := 0; i < n; i++ {
			tbl := c.pop.AllTables[(i*11+3)%len(c.pop.AllTables)]
			c.emit(spread(i, n, 45*time.Minute), "unityCatalog", "generateTemporaryTableCredential", map[string]string{"table_full_name": tbl, "table_id": stableUUID("table", tbl), "operation": "READ"}, 200)
		}
	}},
	"DBX-B09": {"first access to a sensitive table", nil, func(c *attackCtx) {
		tbl := SensitiveTables[2+c.r.IntN(len(SensitiveTables)-2)]
		c.emit(0, "unityCatalog", "getTable", map[string]string{"full_name_arg": tbl}, 200)
		c.emit(4*time.Second, "unityCatalog", "generateTemporaryTableCredential", map[string]string{"table_full_name": tbl, "table_id": stableUUID("table", tbl), "operation": "READ"}, 200)
	}},
	"DBX-B10": {"sensitive table read outside business hours", []string{"DBX-B09"}, func(c *attackCtx) {
		tbl := SensitiveTables[1]
		c.emit(0, "unityCatalog", "getTable", map[string]string{"full_name_arg": tbl}, 200)
		c.emit(5*time.Second, "unityCatalog", "generateTemporaryTableCredential", map[string]string{"table_full_name": tbl, "table_id": stableUUID("table", tbl), "operation": "READ"}, 200)
	}},
	"DBX-B11": {"dormant identity reactivated", nil, func(c *attackCtx) {
		c.emit(0, "accounts", "samlLogin", loginParams(c.actor.Email, "BROWSER_BYO_IDP_SAML"), 200)
		c.emit(2*time.Minute, "unityCatalog", "getTable", map[string]string{"full_name_arg": pick(c.r, c.actor.Tables)}, 200)
	}},
	"DBX-B14": {"risk accumulation: several findings for one identity within hours", []string{"DBX-S05", "DBX-S08", "DBX-W05", "DBX-B01", "DBX-S10"}, func(c *attackCtx) {
		c.emit(0, "workspace", "workspaceConfEdit", map[string]string{"workspaceConfKeys": "enableExportNotebook", "workspaceConfValues": "true"}, 200)
		c.emit(20*time.Minute, "accounts", "generateDbToken", map[string]string{"userId": c.actor.ID, "tokenExpirationTime": strconv.FormatInt(c.at.Add(800*24*time.Hour).UnixMilli(), 10), "tokenHash": stableHex(64, c.label)}, 200)
		for i := 0; i < 12; i++ {
			c.emit(40*time.Minute+spread(i, 12, 10*time.Minute), "secrets", "getSecret", map[string]string{"scope": secretScopes[i%len(secretScopes)], "key": fmt.Sprintf("svc-%d", i)}, 200)
		}
		c.ip = addrIn("175.16.199.0/24", 210+c.r.IntN(40))
		c.emit(90*time.Minute, "accounts", "samlLogin", loginParams(c.actor.Email, "BROWSER_BYO_IDP_SAML"), 200)
	}},
}

// RuleIDs lists every rule id the simulator can inject, sorted.
func RuleIDs() []string {
	ids := make([]string, 0, len(attackGenerators))
	for id := range attackGenerators {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// injectAttacks runs every attack of the scenario and returns its events, the ground truth
// and the windows in which dormant identities must stay silent.
func injectAttacks(s *Scenario, b *eventBuilder, pop *Population, start, end time.Time) ([]AuditEvent, []Expectation, []quietWindow) {
	var events []AuditEvent
	var truth []Expectation
	var quiet []quietWindow
	for i, spec := range s.Attacks {
		g := attackGenerators[spec.Rule]
		for rep := 0; ; rep++ {
			at := start.Add(spec.At.D() + time.Duration(rep)*spec.Every.D())
			if !at.Before(end) || (rep > 0 && (spec.Every == 0 || (spec.Times > 0 && rep >= spec.Times))) {
				break
			}
			label := fmt.Sprintf("attack%d/%s/%d", i, spec.Rule, rep)
			r := stream(s.Seed, "attack", label)
			actor := pop.ByEmail(spec.Identity)
			if actor == nil && spec.Identity != "" {
				actor = &Principal{Email: spec.Identity, ID: stableDigits(16, spec.Identity), UserAgents: []string{browserUAs[0]}, Tables: pop.AllTables[:3]}
			}
			if actor == nil {
				actor = pop.pickUser(r)
			}
			c := &attackCtx{s: s, b: b, pop: pop, r: r, at: at, spec: spec, actor: actor, label: label,
				ip: actor.OfficeIP, ua: actor.UserAgents[0], sess: stableUUID(label, "session")}
			if c.ip == "" {
				c.ip = addrIn(s.Workspace.CorporateCIDRs[0], 7)
			}
			if spec.SourceIP != "" {
				c.ip = spec.SourceIP
			}
			if spec.Rule == "DBX-W01b" || spec.Rule == "DBX-W02" || spec.Rule == "DBX-W01" {
				if spec.SourceIP == "" {
					c.ip = attackerIP(r)
				}
				c.ua = attackerUA
			}
			if spec.DormantFor > 0 {
				quiet = append(quiet, quietWindow{email: actor.Email, from: at.Add(-spec.DormantFor.D()), to: at})
			}
			identity := actor.Email
			g.gen(c)
			first, last := c.out[0].Time, c.out[0].Time
			for _, e := range c.out {
				if e.Time.Before(first) {
					first = e.Time
				}
				if e.Time.After(last) {
					last = e.Time
				}
			}
			exp := Expectation{Rule: spec.Rule, Identity: identity, From: first, To: last, Events: len(c.out),
				Related: g.related, Description: g.description}
			if spec.Rule == "DBX-W01b" {
				exp.Identity = ""
				exp.SourceAddress = c.out[0].SourceAddress()
			}
			events = append(events, c.out...)
			truth = append(truth, exp)
		}
	}
	sort.SliceStable(truth, func(i, j int) bool { return truth[i].From.Before(truth[j].From) })
	return events, truth, quiet
}
