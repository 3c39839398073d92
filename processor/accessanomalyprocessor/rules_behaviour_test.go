// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

const day = 24 * time.Hour

var (
	berlin  = a{"geo.location.lat": 52.52, "geo.location.lon": 13.40}
	newYork = a{"geo.location.lat": 40.71, "geo.location.lon": -74.01}
)

func merge(ms ...a) a {
	out := a{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

type behaviourCase struct {
	name     string
	mutate   func(*Config)
	history  []rec
	trigger  []rec
	wantFire bool
	severity string
	check    func(t *testing.T, f map[string]string)
}

func runBehaviour(t *testing.T, rule string, tests []behaviourCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.mutate)
			pre := withRule(h.feed(tt.history...), rule)
			require.Empty(t, pre, "history alone must not fire %s", rule)
			got := withRule(h.feed(tt.trigger...), rule)
			if !tt.wantFire {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			f := map[string]string{}
			got[0].Attributes().Range(func(k string, v pcommon.Value) bool { f[k] = v.AsString(); return true })
			assert.Equal(t, tt.severity, f["anomaly.severity"])
			assert.NotEmpty(t, f["anomaly.reason"])
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestRuleB01NewNetwork(t *testing.T) {
	hist := history(base, 20, 10, a{})
	at := base.Add(21 * day)
	runBehaviour(t, "DBX-B01", []behaviourCase{
		{name: "new /24 after learning", history: hist, trigger: []rec{audit(at, a{"source.address": "203.0.113.5"})}, wantFire: true, severity: "low",
			check: func(t *testing.T, f map[string]string) {
				assert.Equal(t, "203.0.113.0/24", f["anomaly.baseline.value"])
				assert.Equal(t, "1", f["anomaly.baseline.values_known"])
				assert.Equal(t, "new_value", f["anomaly.detector"])
			}},
		{name: "admin identity is medium", mutate: withLists(map[string][]string{"admin_identities": {"alice@corp.com"}}), history: hist,
			trigger: []rec{audit(at, a{"source.address": "203.0.113.5"})}, wantFire: true, severity: "medium"},
		{name: "same /24", history: hist, trigger: []rec{audit(at, a{"source.address": "198.51.100.200"})}},
		{name: "still learning", history: history(base, 3, 10, a{}), trigger: []rec{audit(base.Add(4*day), a{"source.address": "203.0.113.5"})}},
		{name: "private address", history: hist, trigger: []rec{audit(at, a{"source.address": "10.20.30.40"})}},
		{name: "failed request", history: hist, trigger: []rec{audit(at, a{"source.address": "203.0.113.5", "http.response.status_code": int64(403)})}},
		{name: "network common in the organisation", history: append(hist, every(base.Add(20*day), time.Minute, 5, func(i int, t time.Time) rec {
			return audit(t, a{"user.email": fmt.Sprintf("peer%d@corp.com", i), "source.address": "203.0.113.9"})
		})...), trigger: []rec{audit(at, a{"source.address": "203.0.113.5"})}},
	})
}

func TestRuleB03NewClient(t *testing.T) {
	hist := history(base, 20, 10, a{})
	at := base.Add(21 * day)
	runBehaviour(t, "DBX-B03", []behaviourCase{
		{name: "new client family", history: hist, trigger: []rec{audit(at, a{"user_agent.original": "python-requests/2.31.0"})}, wantFire: true, severity: "low",
			check: func(t *testing.T, f map[string]string) {
				assert.Equal(t, "python-requests/2", f["anomaly.baseline.value"])
			}},
		{name: "service principal is high", history: history(base, 20, 10, a{"databricks.identity.type": "service_principal"}),
			trigger: []rec{audit(at, a{"databricks.identity.type": "service_principal", "user_agent.original": "curl/8.4.0"})}, wantFire: true, severity: "high"},
		{name: "browser version change", history: hist, trigger: []rec{audit(at, a{"user_agent.original": "Mozilla/5.0 (Windows) Chrome/131.0 Safari/537.36"})}},
		{name: "databricks service agent", history: hist, trigger: []rec{audit(at, a{"user_agent.original": "Databricks-Runtime/15.4"})}},
	})
}

func TestRuleB05ImpossibleTravel(t *testing.T) {
	hist := history(base, 3, 4, berlin)
	at := base.Add(4 * day)
	runBehaviour(t, "DBX-B05", []behaviourCase{
		{name: "Berlin to New York in an hour", history: hist, trigger: []rec{
			audit(at, berlin), audit(at.Add(time.Hour), merge(newYork, a{"source.address": "203.0.113.50"})),
		}, wantFire: true, severity: "medium", check: func(t *testing.T, f map[string]string) {
			assert.Equal(t, "6385", f["anomaly.baseline.distance_km"])
			assert.Equal(t, "6385", f["anomaly.baseline.speed_kmh"])
			assert.Equal(t, "52.5200,13.4000", f["anomaly.baseline.from_geo"])
		}},
		{name: "Berlin to New York in two days", history: hist, trigger: []rec{audit(at, berlin), audit(at.Add(2*day), newYork)}},
		{name: "no geo attributes", history: hist, trigger: []rec{audit(at, berlin), audit(at.Add(time.Hour), a{"source.address": "203.0.113.50"})}},
		{name: "transition already seen while learning", history: append([]rec{audit(base.Add(-day), berlin), audit(base.Add(-day+time.Hour), newYork)}, hist...),
			trigger: []rec{audit(at, berlin), audit(at.Add(time.Hour), newYork)}},
	})
}

func TestRuleB06RareAction(t *testing.T) {
	hist := history(base, 20, 15, a{})
	at := base.Add(21 * day)
	runBehaviour(t, "DBX-B06", []behaviourCase{
		{name: "first permission change", history: hist, trigger: []rec{audit(at, a{"databricks.service_name": "clusters", "databricks.action_name": "changeClusterAcl"})},
			wantFire: true, severity: "medium", check: func(t *testing.T, f map[string]string) {
				assert.Equal(t, "clusters.changeClusterAcl", f["anomaly.baseline.value"])
				assert.Equal(t, "300", f["anomaly.baseline.history_events"])
			}},
		{name: "first secret read is low", history: hist, trigger: []rec{audit(at, a{"databricks.service_name": "secrets", "databricks.action_name": "getSecret", "databricks.request_params.scope": "s", "databricks.request_params.key": "k"})},
			wantFire: true, severity: "low"},
		{name: "rare but not security relevant", history: hist, trigger: []rec{audit(at, a{"databricks.action_name": "listCatalogs"})}},
		{name: "short history", history: history(base, 5, 15, a{}), trigger: []rec{audit(base.Add(6*day), a{"databricks.service_name": "clusters", "databricks.action_name": "changeClusterAcl"})}},
	})
}

func tableReads(start time.Time, days, hours, perHour int, distinct bool) []rec {
	var out []rec
	for d := 0; d < days; d++ {
		for h := 0; h < hours; h++ {
			for i := 0; i < perHour; i++ {
				name := "main.sales.orders"
				if distinct {
					name = fmt.Sprintf("main.sales.t%d", i)
				}
				t := start.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Minute)
				out = append(out, audit(t, a{"databricks.action_name": "generateTemporaryTableCredential", "databricks.request_params.operation": "READ", "databricks.object.name": name}))
			}
		}
	}
	return out
}

func TestRuleB07VolumeSpike(t *testing.T) {
	hist := tableReads(base, 10, 6, 10, false)
	at := base.Add(11 * day)
	runBehaviour(t, "DBX-B07", []behaviourCase{
		{name: "200 reads in an hour", history: hist, trigger: every(at, 15*time.Second, 200, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.action_name": "generateTemporaryTableCredential", "databricks.request_params.operation": "READ", "databricks.object.name": "main.sales.orders"})
		}), wantFire: true, severity: "medium",
			check: func(t *testing.T, f map[string]string) {
				assert.Equal(t, "spike", f["anomaly.detector"])
				assert.Equal(t, "10", f["anomaly.baseline.mean"])
				assert.Equal(t, "60", f["anomaly.baseline.active_buckets"])
			}},
		{name: "usual volume", history: hist, trigger: tableReads(at, 1, 1, 12, false)},
		{name: "spike below floor", history: tableReads(base, 10, 6, 2, false), trigger: tableReads(at, 1, 1, 40, false)},
	})
}

func TestRuleB08DistinctTablesSpike(t *testing.T) {
	hist := tableReads(base, 10, 6, 4, true)
	at := base.Add(11 * day)
	sens := withLists(map[string][]string{"sensitive_tables": {"main.hr.*"}})
	burst := tableReads(at, 1, 1, 50, true)
	runBehaviour(t, "DBX-B08", []behaviourCase{
		{name: "50 distinct tables", history: hist, trigger: burst, wantFire: true, severity: "medium",
			check: func(t *testing.T, f map[string]string) { assert.Equal(t, "20", f["anomaly.baseline.observed"]) }},
		{name: "sensitive table makes it high", mutate: sens, history: hist, trigger: append(tableReads(at, 1, 1, 19, true),
			audit(at.Add(30*time.Minute), a{"databricks.action_name": "generateTemporaryTableCredential", "databricks.request_params.operation": "READ", "databricks.object.name": "main.hr.salaries"})),
			wantFire: true, severity: "high"},
		{name: "same table many times", history: hist, trigger: tableReads(at, 1, 1, 50, false)},
	})
}

func TestRuleB09FirstSensitiveTable(t *testing.T) {
	sens := withLists(map[string][]string{"sensitive_tables": {"main.hr.*", "*.pii_*"}})
	hist := tableReads(base, 20, 2, 3, true)
	at := base.Add(21 * day)
	read := func(tm time.Time, name string) rec {
		return audit(tm, a{"databricks.action_name": "generateTemporaryTableCredential", "databricks.request_params.operation": "READ", "databricks.object.name": name})
	}
	runBehaviour(t, "DBX-B09", []behaviourCase{
		{name: "first read of HR table", mutate: sens, history: hist, trigger: []rec{read(at, "main.hr.salaries")}, wantFire: true, severity: "medium",
			check: func(t *testing.T, f map[string]string) {
				assert.Equal(t, "main.hr.salaries", f["databricks.object.name"])
			}},
		{name: "table read before", mutate: sens, history: append(hist, read(base.Add(day), "main.hr.salaries")), trigger: []rec{read(at, "main.hr.salaries")}},
		{name: "young identity", mutate: sens, history: tableReads(base, 3, 2, 3, true), trigger: []rec{read(base.Add(4*day), "main.hr.salaries")}},
		{name: "not sensitive", mutate: sens, history: hist, trigger: []rec{read(at, "main.sales.new_table")}},
		{name: "inactive without sensitive_tables", history: hist, trigger: []rec{read(at, "main.hr.salaries")}},
	})
}

func TestRuleB10OffHoursSensitive(t *testing.T) {
	sens := withLists(map[string][]string{"sensitive_tables": {"main.hr.*"}})
	read := func(tm time.Time) rec {
		return audit(tm, a{"databricks.action_name": "getTable", "databricks.object.name": "main.hr.salaries"})
	}
	saturdayNight := time.Date(2026, 3, 7, 23, 0, 0, 0, time.UTC)
	mondayMorning := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	// Six weeks of weekday 09:00-13:00 activity: a mature profile.
	var mature []rec
	for d := 0; d < 42; d++ {
		dayStart := base.AddDate(0, 0, d)
		if wd := dayStart.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		mature = append(mature, every(dayStart.Add(-time.Hour), 30*time.Minute, 8, func(_ int, t time.Time) rec { return audit(t, a{}) })...)
	}
	afterMature := base.AddDate(0, 0, 42)
	runBehaviour(t, "DBX-B10", []behaviourCase{
		{name: "young profile, Saturday night", mutate: sens, history: history(base, 3, 4, a{}), trigger: []rec{read(saturdayNight)}, wantFire: true, severity: "low",
			check: func(t *testing.T, f map[string]string) {
				assert.Equal(t, "business_hours", f["anomaly.baseline.profile"])
			}},
		{name: "young profile, Monday morning", mutate: sens, history: history(base, 3, 4, a{}), trigger: []rec{read(mondayMorning)}},
		{name: "Berlin business hours", mutate: func(c *Config) { sens(c); c.Timezone = "Europe/Berlin" }, history: history(base, 3, 4, a{}),
			trigger: []rec{read(time.Date(2026, 3, 9, 18, 30, 0, 0, time.UTC))}, wantFire: true, severity: "low"},
		{name: "mature profile, unusual hour", mutate: sens, history: mature, trigger: []rec{read(afterMature.Add(-7 * time.Hour))}, wantFire: true, severity: "medium",
			check: func(t *testing.T, f map[string]string) { assert.Equal(t, "learned", f["anomaly.baseline.profile"]) }},
		{name: "mature profile, usual hour", mutate: sens, history: mature, trigger: []rec{read(afterMature.Add(24*time.Hour + time.Hour))}},
	})
}

func TestRuleB11Dormancy(t *testing.T) {
	runBehaviour(t, "DBX-B11", []behaviourCase{
		{name: "back after 100 days", history: history(base, 2, 3, a{}), trigger: []rec{audit(base.Add(101*day), a{})}, wantFire: true, severity: "medium",
			check: func(t *testing.T, f map[string]string) { assert.Equal(t, "99", f["anomaly.baseline.inactive_days"]) }},
		{name: "service principal is high", history: history(base, 2, 3, a{"databricks.identity.type": "service_principal"}),
			trigger: []rec{audit(base.Add(101*day), a{"databricks.identity.type": "service_principal"})}, wantFire: true, severity: "high"},
		{name: "back after 30 days", history: history(base, 2, 3, a{}), trigger: []rec{audit(base.Add(32*day), a{})}},
		{name: "first ever activity", trigger: []rec{audit(base.Add(101*day), a{})}},
	})
}

func TestRuleB14Risk(t *testing.T) {
	runBehaviour(t, "DBX-B14", []behaviourCase{
		{name: "critical plus high", trigger: []rec{
			audit(base, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceConfEdit", "databricks.request_params.workspaceConfKeys": "enableVerboseAuditLogs", "databricks.request_params.workspaceConfValues": "false"}),
			audit(base.Add(time.Hour), a{"databricks.service_name": "accounts", "databricks.action_name": "setAdmin"}),
		}, wantFire: true, severity: "high", check: func(t *testing.T, f map[string]string) {
			assert.Equal(t, "150", f["anomaly.baseline.risk_score"])
			assert.Equal(t, `["DBX-S01","DBX-S03"]`, f["anomaly.baseline.contributing_rules"])
		}},
		{name: "three tactics", trigger: []rec{
			audit(base, a{"databricks.service_name": "accounts", "databricks.action_name": "login", "databricks.request_params.authenticationMethod": "PASSWORD"}), // S11 medium: initial-access
			audit(base.Add(time.Hour), a{"user_agent.original": "trufflehog/3"}),                                                                                   // S17 high: discovery, credential-access
		}, wantFire: true, severity: "high", check: func(t *testing.T, f map[string]string) {
			assert.Equal(t, `["credential-access","discovery","initial-access"]`, f["anomaly.baseline.tactics"])
		}},
		{name: "tactics of low findings do not count", trigger: []rec{
			audit(base, a{"databricks.service_name": "accounts", "databricks.action_name": "IpAccessDenied"}), // S09 low: initial-access
			audit(base.Add(time.Hour), a{"user_agent.original": "trufflehog/3"}),                              // S17 high
		}},
		{name: "one rule repeating counts once", trigger: every(base, 2*time.Hour, 5, func(_ int, t time.Time) rec { return adminGrant(t) })},
		{name: "one low finding", trigger: []rec{audit(base, a{"databricks.service_name": "accounts", "databricks.action_name": "IpAccessDenied"})}},
	})
}
