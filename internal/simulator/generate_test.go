package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// designRuleIDs is the built-in rule pack of DESIGN §3.3: the contract the simulator covers.
var designRuleIDs = []string{
	"DBX-B01", "DBX-B03", "DBX-B05", "DBX-B06", "DBX-B07", "DBX-B08", "DBX-B09", "DBX-B10", "DBX-B11", "DBX-B14",
	"DBX-S01", "DBX-S02", "DBX-S03", "DBX-S04", "DBX-S05", "DBX-S07", "DBX-S08", "DBX-S09", "DBX-S10", "DBX-S11",
	"DBX-S12", "DBX-S17", "DBX-S20",
	"DBX-W01", "DBX-W01b", "DBX-W02", "DBX-W04", "DBX-W05", "DBX-W06", "DBX-W07", "DBX-W08",
}

var attacksWorld = sync.OnceValues(func() (*World, error) {
	s, err := LoadScenario("../../configs/sim/attacks.yaml")
	if err != nil {
		return nil, err
	}
	return Build(s, Options{Rate: 0.01})
})

func loadAttacksWorld(t *testing.T) *World {
	t.Helper()
	w, err := attacksWorld()
	require.NoError(t, err)
	return w
}

func TestRuleIDsMatchDesign(t *testing.T) {
	assert.Equal(t, designRuleIDs, RuleIDs())
}

func TestAttacksScenarioCoversEveryRule(t *testing.T) {
	w := loadAttacksWorld(t)
	covered := map[string]bool{}
	for _, e := range w.Truth {
		covered[e.Rule] = true
		assert.NotEmpty(t, e.Description)
		assert.False(t, e.To.Before(e.From))
		assert.True(t, !e.From.Before(w.Start) && e.To.Before(w.End), "%s inside the timeline", e.Rule)
	}
	for _, id := range designRuleIDs {
		assert.True(t, covered[id], "attacks.yaml must inject %s", id)
	}
}

// eventsOf returns the events an attack produced, in time order.
func eventsOf(w *World, exp Expectation) []AuditEvent {
	var out []AuditEvent
	for _, e := range w.Events {
		if e.Attack == exp.Rule && !e.Time.Before(exp.From) && !e.Time.After(exp.To) {
			out = append(out, e)
		}
	}
	return out
}

var loginActions = map[string]bool{"login": true, "samlLogin": true, "oidcBrowserLogin": true, "aadBrowserLogin": true, "tokenLogin": true}

// Each attack must contain what reference/detections.md says its rule looks for.
func TestAttackEventsMatchTheirRules(t *testing.T) {
	w := loadAttacksWorld(t)
	byRule := map[string]Expectation{}
	ruleEvents := map[string][]AuditEvent{}
	for _, e := range w.Truth {
		byRule[e.Rule] = e
		evs := eventsOf(w, e)
		ruleEvents[e.Rule] = evs
		require.Len(t, evs, e.Events, e.Rule)
		if e.Identity != "" {
			for _, ev := range evs {
				assert.Equal(t, e.Identity, ev.Email, e.Rule)
			}
		}
	}
	count := func(rule string, pred func(AuditEvent) bool) int {
		n := 0
		for _, e := range ruleEvents[rule] {
			if pred(e) {
				n++
			}
		}
		return n
	}
	distinct := func(rule string, key func(AuditEvent) string) int {
		seen := map[string]bool{}
		for _, e := range ruleEvents[rule] {
			if k := key(e); k != "" {
				seen[k] = true
			}
		}
		return len(seen)
	}
	within := func(rule string, d time.Duration) {
		e := byRule[rule]
		assert.LessOrEqual(t, e.To.Sub(e.From), d, rule)
	}
	p := func(e AuditEvent, k string) string { return e.RequestParams[k] }

	assert.Equal(t, 1, count("DBX-S01", func(e AuditEvent) bool {
		return e.ActionName == "addPrincipalToGroup" && p(e, "targetGroupName") == "admins"
	}))
	assert.Equal(t, 1, count("DBX-S02", func(e AuditEvent) bool {
		return e.ActionName == "removePrincipalFromGroup" && p(e, "targetGroupName") == "admins"
	}))
	assert.Equal(t, 1, count("DBX-S03", func(e AuditEvent) bool {
		return e.ActionName == "workspaceConfEdit" && p(e, "workspaceConfKeys") == "enableVerboseAuditLogs" && p(e, "workspaceConfValues") == "false"
	}))
	assert.Equal(t, 1, count("DBX-S04", func(e AuditEvent) bool { return e.ActionName == "deleteIpAccessList" && e.StatusCode == 200 }))
	assert.Equal(t, 1, count("DBX-S08", func(e AuditEvent) bool {
		var ms int64
		_ = json.Unmarshal([]byte(p(e, "tokenExpirationTime")), &ms)
		return e.ActionName == "generateDbToken" && time.UnixMilli(ms).Sub(e.Time) > 365*24*time.Hour
	}))
	assert.Equal(t, 1, count("DBX-S09", func(e AuditEvent) bool { return e.ActionName == "IpAccessDenied" && e.StatusCode == 403 }))
	for _, rule := range []string{"DBX-S10", "DBX-B01"} {
		assert.Positive(t, count(rule, func(e AuditEvent) bool {
			return e.StatusCode < 400 && !inCIDRs(e.SourceAddress(), w.Scenario.Workspace.CorporateCIDRs)
		}), rule)
	}
	assert.Equal(t, 1, count("DBX-S11", func(e AuditEvent) bool {
		return e.ActionName == "login" && e.StatusCode == 200 && p(e, "authenticationMethod") == "PASSWORD"
	}))
	assert.Equal(t, 1, count("DBX-S12", func(e AuditEvent) bool { return e.ServiceName == "globalInitScripts" }))
	assert.Positive(t, count("DBX-S17", func(e AuditEvent) bool { return strings.Contains(e.UserAgent, "TruffleHog") }))
	assert.Equal(t, 1, count("DBX-S20", func(e AuditEvent) bool {
		return e.ActionName == "updatePermissions" && contains(SensitiveTables, p(e, "securable_full_name")) && strings.Contains(p(e, "changes"), "account users")
	}))
	failedLogin := func(e AuditEvent) bool {
		return loginActions[e.ActionName] && (e.StatusCode == 401 || e.StatusCode == 403)
	}
	assert.GreaterOrEqual(t, count("DBX-W01", failedLogin), 5)
	within("DBX-W01", time.Hour)
	assert.GreaterOrEqual(t, distinct("DBX-W01b", func(e AuditEvent) string { return e.Email }), 10)
	assert.Equal(t, 1, distinct("DBX-W01b", func(e AuditEvent) string { return e.SourceAddress() }))
	assert.Equal(t, byRule["DBX-W01b"].SourceAddress, eventsOf(w, byRule["DBX-W01b"])[0].SourceAddress())
	within("DBX-W01b", time.Hour)
	w02 := eventsOf(w, byRule["DBX-W02"])
	assert.GreaterOrEqual(t, count("DBX-W02", failedLogin), 5)
	assert.Equal(t, 200, w02[len(w02)-1].StatusCode, "the burst ends in a success")
	assert.Greater(t, count("DBX-W04", func(e AuditEvent) bool {
		return (e.ActionName == "workspaceExport" && p(e, "workspaceExportFormat") != "SOURCE") || (e.ActionName == "downloadQueryResult" && p(e, "fileType") != "arrows") || e.ActionName == "downloadLargeResults"
	}), 20)
	within("DBX-W04", time.Hour)
	assert.GreaterOrEqual(t, distinct("DBX-W05", func(e AuditEvent) string {
		if e.ActionName != "getSecret" {
			return ""
		}
		return p(e, "scope") + ":" + p(e, "key")
	}), 10)
	within("DBX-W05", time.Hour)
	assert.GreaterOrEqual(t, count("DBX-W06", func(e AuditEvent) bool {
		return strings.HasPrefix(e.ActionName, "change") || e.ActionName == "updatePermissions"
	}), 25)
	within("DBX-W06", time.Hour)
	assert.Greater(t, count("DBX-W07", func(e AuditEvent) bool { return e.ServiceName == "unityCatalog" && e.StatusCode == 403 }), 25)
	within("DBX-W07", time.Hour)
	assert.GreaterOrEqual(t, count("DBX-W08", func(e AuditEvent) bool { return strings.Contains(strings.ToLower(e.ActionName), "delete") }), 50)
	within("DBX-W08", 24*time.Hour)

	b05 := eventsOf(w, byRule["DBX-B05"])
	from, okA := GeoLookup(b05[0].SourceAddress())
	to, okB := GeoLookup(b05[len(b05)-1].SourceAddress())
	require.True(t, okA && okB)
	assert.NotEqual(t, from.Country, to.Country)
	assert.LessOrEqual(t, b05[len(b05)-1].Time.Sub(b05[0].Time), time.Hour)
	assert.GreaterOrEqual(t, count("DBX-B07", func(e AuditEvent) bool { return e.ActionName == "generateTemporaryTableCredential" }), 50)
	assert.GreaterOrEqual(t, distinct("DBX-B08", func(e AuditEvent) string { return p(e, "table_full_name") }), 20)
	for _, rule := range []string{"DBX-B09", "DBX-B10"} {
		assert.Positive(t, count(rule, func(e AuditEvent) bool { return contains(SensitiveTables, p(e, "table_full_name")) }), rule)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	b10 := byRule["DBX-B10"].From.In(berlin)
	assert.True(t, b10.Weekday() == time.Sunday && b10.Hour() < 6, "B10 happens at night on a weekend: %s", b10)

	// B11: the identity is silent for the dormancy window before its reactivation.
	b11 := byRule["DBX-B11"]
	for _, e := range w.Events {
		if e.Email == b11.Identity && e.Time.Before(b11.From) {
			assert.True(t, e.Time.Before(b11.From.Add(-10*24*time.Hour)), "activity at %s during dormancy", e.Time)
		}
	}
}

func inCIDRs(ip string, cidrs []string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, c := range cidrs {
		if netip.MustParsePrefix(c).Contains(a) {
			return true
		}
	}
	return false
}

// Normal behaviour: users work in their own hours and networks, service principals appear as
// application ids on their schedule, System-User carries automated actions.
func TestNormalBehaviour(t *testing.T) {
	s := smallScenario(t)
	s.Attacks = nil
	s.Duration = Duration(7 * 24 * time.Hour)
	w := buildWorld(t, s)
	inHours, logins := 0, 0
	identities := map[string]bool{}
	for _, e := range w.Events {
		identities[e.Email] = true
		if e.ActionName != "samlLogin" || e.StatusCode != 200 {
			continue
		}
		u := w.Population.ByEmail(e.Email)
		require.NotNil(t, u)
		loc, _ := time.LoadLocation(u.TimeZone)
		local := e.Time.In(loc)
		logins++
		if local.Weekday() != time.Saturday && local.Weekday() != time.Sunday && local.Hour() >= u.WorkStart && local.Hour() <= u.WorkEnd {
			inHours++
		}
		ip, err := netip.ParseAddr(e.SourceAddress())
		require.NoError(t, err)
		assert.False(t, ip.IsPrivate(), "interactive logins come from public networks")
		_, known := GeoLookup(ip.String())
		assert.True(t, known, "%s is a simulated public network", ip)
	}
	require.Greater(t, logins, 30)
	assert.Greater(t, float64(inHours)/float64(logins), 0.9)
	assert.True(t, identities[SystemUser])
	for _, sp := range w.Population.ServicePrincipals {
		assert.True(t, identities[sp.ApplicationID])
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$`, sp.ApplicationID)
	}
	assert.Empty(t, w.Truth)
	// The requested rate is honoured over the timeline (benign user events only).
	user := 0
	for _, e := range w.Events {
		if u := w.Population.ByEmail(e.Email); u != nil && !u.ServicePrinc {
			user++
		}
	}
	rate := float64(user) / s.Duration.D().Seconds()
	assert.InDelta(t, s.Rate, rate, s.Rate*0.25)
}

func writeAll(t *testing.T, w *World) string {
	t.Helper()
	dir := t.TempDir()
	_, err := NewDeliverer(w, DirStore{Root: filepath.Join(dir, "delivery")}).Deliver(context.Background(), w.End.Add(24*time.Hour))
	require.NoError(t, err)
	_, err = NewAzureWriter(w, DirStore{Root: filepath.Join(dir, "azure")}).Deliver(context.Background(), w.End.Add(24*time.Hour))
	require.NoError(t, err)
	require.NoError(t, WriteGroundTruth(filepath.Join(dir, "truth.json"), w))
	return dir
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		out[rel] = b
		return err
	}))
	return out
}

func TestDeterminism(t *testing.T) {
	s := smallScenario(t)
	s.Duration = Duration(12 * time.Hour)
	s.Delivery.Interval = Duration(time.Hour)
	a := readTree(t, writeAll(t, buildWorld(t, s)))
	b := readTree(t, writeAll(t, buildWorld(t, s)))
	require.Greater(t, len(a), 10)
	assert.Equal(t, a, b, "same seed: byte-identical files")

	other := *s
	other.Seed = 12
	c := readTree(t, writeAll(t, buildWorld(t, &other)))
	assert.NotEqual(t, a, c, "different seed: different files")

	// Identical API answers.
	answers := func(w *World) []string {
		sim, hs := startServer(t, w, ServerOptions{Clock: func() time.Time { return mid(w) }})
		var out []string
		for _, path := range []string{"/api/2.1/clusters/list", "/api/2.2/jobs/runs/list?limit=25", "/api/2.0/preview/scim/v2/Groups", "/api/2.0/sql/warehouses"} {
			_, body := get(t, hs.URL+path, sim.Token())
			out = append(out, string(body))
		}
		var r struct {
			Result struct {
				DataArray [][]*string `json:"data_array"`
			} `json:"result"`
		}
		postJSON(t, hs.URL+"/api/2.0/sql/statements", sim.Token(), map[string]any{"warehouse_id": w.Workspace.Warehouses[0].ID,
			"statement": "SELECT * FROM system.access.audit ORDER BY event_time DESC LIMIT 50"}, &r)
		b, _ := json.Marshal(r.Result.DataArray)
		return append(out, string(b))
	}
	assert.Equal(t, answers(buildWorld(t, s)), answers(buildWorld(t, s)))
	assert.NotEqual(t, answers(buildWorld(t, s)), answers(buildWorld(t, &other)))
}

var deliveryKey = regexp.MustCompile(`^workspaceId=(0|\d{16})/date=\d{4}-\d{2}-\d{2}/auditlogs_[0-9a-f]{32}\.json$`)

func TestDeliveryLayoutAndRewrite(t *testing.T) {
	w := buildWorld(t, smallScenario(t))
	dir := t.TempDir()
	d := NewDeliverer(w, DirStore{Root: dir})
	ctx := context.Background()
	cut := mid(w)
	n1, err := d.Deliver(ctx, cut)
	require.NoError(t, err)
	require.Positive(t, n1)
	before := readTree(t, dir)
	n2, err := d.Deliver(ctx, w.End.Add(24*time.Hour))
	require.NoError(t, err)
	after := readTree(t, dir)
	grown := 0
	for key, old := range before {
		assert.Regexp(t, deliveryKey, filepath.ToSlash(key))
		cur := after[key]
		assert.True(t, bytes.HasPrefix(cur, old), "a rewritten object keeps its delivered lines first: %s", key)
		if len(cur) > len(old) {
			grown++
		}
	}
	assert.Positive(t, grown, "late events rewrite already delivered objects with extra lines")
	assert.Greater(t, n2, grown)

	lines, partitions := 0, map[string]bool{}
	for key, body := range after {
		partitions[strings.SplitN(filepath.ToSlash(key), "/", 2)[0]] = true
		for _, l := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(l, &m))
			for _, f := range []string{"version", "auditLevel", "timestamp", "orgId", "shardName", "accountId", "sourceIPAddress", "userAgent",
				"sessionId", "userIdentity", "serviceName", "actionName", "requestId", "requestParams", "response", "MAX_LOG_MESSAGE_LENGTH"} {
				assert.Contains(t, m, f)
			}
			lines++
		}
	}
	assert.Equal(t, len(w.Events), lines, "every event delivered exactly once")
	assert.True(t, partitions["workspaceId=0"], "account-level Unity Catalog events go to workspaceId=0")
	assert.True(t, partitions["workspaceId="+w.Scenario.Workspace.ID])
}

func TestRenderings(t *testing.T) {
	w := buildWorld(t, smallScenario(t))
	var e AuditEvent
	for _, ev := range w.Events {
		if ev.ServiceName == "unityCatalog" && ev.SourceIP != "" {
			e = ev
			break
		}
	}
	require.NotEmpty(t, e.EventID)

	var line map[string]any
	require.NoError(t, json.Unmarshal(e.DeliveryLine(), &line))
	assert.Equal(t, float64(e.Time.UnixMilli()), line["timestamp"])
	assert.Equal(t, AccountLevel, line["auditLevel"])
	assert.Equal(t, w.Scenario.Workspace.ID, line["orgId"], "orgId is the originating workspace")
	assert.Equal(t, e.Email, line["userIdentity"].(map[string]any)["email"])

	row := e.SystemTableRow()
	assert.Equal(t, "0", row["workspace_id"])
	assert.Equal(t, e.Time, row["event_time"])
	assert.Equal(t, Date(e.Time.Format(time.DateOnly)), row["event_date"])
	email, _ := row["user_identity"].(Struct).Get("email")
	assert.Equal(t, e.Email, email)

	for _, objectStyle := range []bool{false, true} {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(e.AzureRecord(AzureResourceID(w.Scenario.Workspace), objectStyle), &rec))
		assert.Equal(t, "Microsoft.Databricks/unityCatalog/"+e.ActionName, rec["operationName"])
		assert.Equal(t, "unityCatalog", rec["category"])
		props := rec["properties"].(map[string]any)
		if objectStyle {
			assert.Equal(t, e.Email, rec["identity"].(map[string]any)["email"])
			assert.Equal(t, e.RequestParams["table_full_name"], props["requestParams"].(map[string]any)["table_full_name"])
		} else {
			var id map[string]any
			require.NoError(t, json.Unmarshal([]byte(rec["identity"].(string)), &id))
			assert.Equal(t, e.Email, id["email"])
			var resp map[string]any
			require.NoError(t, json.Unmarshal([]byte(props["response"].(string)), &resp))
			assert.Equal(t, float64(e.StatusCode), resp["statusCode"])
		}
	}

	dir := writeAll(t, w)
	files := readTree(t, filepath.Join(dir, "azure"))
	require.NotEmpty(t, files)
	total := 0
	for key, body := range files {
		assert.Regexp(t, `^insights-logs-[a-z]+/resourceId=/SUBSCRIPTIONS/.+/y=\d{4}/m=\d{2}/d=\d{2}/h=\d{2}/m=00/PT1H\.json$`, filepath.ToSlash(key))
		for _, l := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var env struct {
				Records []map[string]any `json:"records"`
			}
			require.NoError(t, json.Unmarshal(l, &env))
			total += len(env.Records)
		}
	}
	assert.Equal(t, len(w.Events), total)
}

func TestScenarioValidation(t *testing.T) {
	for _, bad := range []struct{ yaml, msg string }{
		{"users: -1", "users"},
		{"attacks: [{rule: DBX-X99}]", "attacks[0].rule"},
		{"duration: 1h\nattacks: [{rule: DBX-W01, at: 2h}]", "attacks[0].at"},
		{"colour: blue", "colour"},
		{"start: yesterday", "start"},
		{"delivery: {prefix: /x}", "delivery.prefix"},
		{"faults: [{kind: teapot}]", "faults[0]"},
	} {
		_, err := ParseScenario([]byte(bad.yaml))
		require.Error(t, err, bad.yaml)
		assert.Contains(t, err.Error(), bad.msg)
	}
	s, err := ParseScenario([]byte("start: now-2h\nduration: 1d12h"))
	require.NoError(t, err)
	at, err := s.StartTime(time.Date(2026, 3, 1, 10, 30, 45, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC), at)
	assert.Equal(t, 36*time.Hour, s.Duration.D())
}

func TestSCIMShowsInjectedAdminGrant(t *testing.T) {
	w := buildWorld(t, smallScenario(t))
	var grant AuditEvent
	for _, e := range w.Events {
		if e.Attack == "DBX-S01" && e.ActionName == "addPrincipalToGroup" {
			grant = e
		}
	}
	require.NotEmpty(t, grant.EventID)
	target := grant.RequestParams["targetUserName"]
	admins := func(at time.Time) []string {
		return NewServer(w, ServerOptions{Clock: func() time.Time { return at }}).memberships(at)["admins"]
	}
	assert.NotContains(t, admins(grant.Time.Add(-time.Second)), target)
	assert.Contains(t, admins(grant.Time), target)
}

func TestObjectStoreDelivery(t *testing.T) {
	ctx := context.Background()
	store, err := OpenStore(ctx, "mem://")
	require.NoError(t, err)
	bs, ok := store.(BlobStore)
	require.True(t, ok)
	defer bs.Close()
	s := smallScenario(t)
	s.Delivery.Prefix = "databricks/audit"
	w := buildWorld(t, s)
	n, err := NewDeliverer(w, store).Deliver(ctx, w.End.Add(24*time.Hour))
	require.NoError(t, err)
	it := bs.Bucket.List(nil)
	keys := 0
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		keys++
		assert.Regexp(t, deliveryKey, strings.TrimPrefix(obj.Key, "databricks/audit/"))
	}
	assert.Equal(t, n, keys)

	_, err = OpenStore(ctx, "ftp://example.invalid/x")
	assert.Error(t, err)
	dir, err := OpenStore(ctx, "file:///tmp/x")
	require.NoError(t, err)
	assert.Equal(t, DirStore{Root: "/tmp/x"}, dir)
}

// TestVariantRedrawsActionsOfTheSameIdentities: a variant keeps the population and who is at
// work from which network with which client, and redraws what they do; variant 0 is the
// scenario as it always was, and a variant is as deterministic as the scenario.
func TestVariantRedrawsActionsOfTheSameIdentities(t *testing.T) {
	s := smallScenario(t)
	s.Users, s.Attacks = 200, nil
	build := func(variant int64) *World {
		w, err := Build(s, Options{Variant: variant, Start: "2026-01-06T00:00:00Z", Duration: 24 * time.Hour, Rate: 0.5})
		require.NoError(t, err)
		return w
	}
	base, v1, v1again, v2 := build(0), build(1), build(1), build(2)
	assert.Equal(t, buildWorld(t, s).Population, build(0).Population, "the population does not depend on the timeline")
	assert.Equal(t, base.Population, v1.Population)
	assert.Equal(t, v1.Events, v1again.Events, "a variant is deterministic")

	type client struct{ email, ip, ua string }
	users := func(w *World) (emails map[string]bool, clients map[client]bool, actions []string) {
		emails, clients = map[string]bool{}, map[client]bool{}
		for _, e := range w.Events {
			if e.Email == "" || !strings.Contains(e.Email, "@") || e.ServiceName != "accounts" || e.ActionName != "samlLogin" {
				continue
			}
			emails[e.Email] = true
			clients[client{e.Email, e.SourceIP, e.UserAgent}] = true
		}
		for _, e := range w.Events {
			actions = append(actions, e.Email+" "+e.ServiceName+"."+e.ActionName+" "+e.Time.String())
		}
		return emails, clients, actions
	}
	e0, c0, a0 := users(base)
	for _, w := range []*World{v1, v2} {
		e, c, a := users(w)
		require.Greater(t, len(e0), 100)
		assert.Equal(t, e0, e, "the same identities log in")
		assert.Equal(t, c0, c, "from the same networks with the same clients")
		assert.False(t, slices.Equal(a0, a), "doing other things")
		assert.InDelta(t, len(a0), len(a), float64(len(a0))/5, "at about the same rate")
	}
	_, _, a1 := users(v1)
	_, _, a2 := users(v2)
	assert.False(t, slices.Equal(a1, a2), "variants differ from each other")
}
