// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const rulesFile = "prometheus/alerts.yaml"

// ruleTestFiles are the promtool unit tests of rulesFile, in its directory.
var ruleTestFiles = []string{"alerts_test.yaml", "alerts_long_window_test.yaml"}

// promtool runs the promtool of Debian's prometheus package. The rule checks are the point of
// this package, so a missing promtool fails the test instead of skipping it.
func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install it with `apt-get install prometheus`", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// alertRule is one rule of alerts.yaml.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	var rules []alertRule
	for _, g := range file.Groups {
		rules = append(rules, g.Rules...)
	}
	require.NotEmpty(t, rules)
	return rules
}

func TestPromtoolCheckRules(t *testing.T) {
	out := promtool(t, ".", "check", "rules", rulesFile)
	assert.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(loadRules(t))))
}

func TestPromtoolTestRules(t *testing.T) {
	out := promtool(t, filepath.Dir(rulesFile), append([]string{"test", "rules"}, ruleTestFiles...)...)
	assert.Equal(t, len(ruleTestFiles), strings.Count(out, "SUCCESS"), out)
	assert.NotContains(t, out, "FAILED")
}

// TestRuleTestsCoverRequiredAlerts makes sure the unit tests exercise a firing case of the
// alerts the task names, so deleting a test case cannot go unnoticed.
func TestRuleTestsCoverRequiredAlerts(t *testing.T) {
	firing := map[string]bool{}
	quiet := map[string]bool{}
	for _, name := range ruleTestFiles {
		raw, err := os.ReadFile(filepath.Join(filepath.Dir(rulesFile), name))
		require.NoError(t, err)
		var file struct {
			RuleFiles []string `yaml:"rule_files"`
			Tests     []struct {
				AlertRuleTest []struct {
					Alertname string           `yaml:"alertname"`
					ExpAlerts []map[string]any `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &file))
		assert.Equal(t, []string{filepath.Base(rulesFile)}, file.RuleFiles, name)
		for _, tc := range file.Tests {
			for _, art := range tc.AlertRuleTest {
				if len(art.ExpAlerts) > 0 {
					firing[art.Alertname] = true
				} else {
					quiet[art.Alertname] = true
				}
			}
		}
	}
	for _, alert := range []string{
		"DatabricksClusterInErrorState", "DatabricksJobFailureRateHigh",
		"DatabricksCriticalAccessFinding", "DatabricksAuditEventsStopped",
		"DatabricksDbuSpendSpike",
	} {
		assert.True(t, firing[alert], "no test case where %s fires", alert)
		assert.True(t, quiet[alert], "no test case where %s stays quiet", alert)
	}
}

// TestRulesAreDocumented checks severities, annotations and the README's alert table.
func TestRulesAreDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	documented := map[string]string{} // alert -> severity
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z]\\w+)` \\| (\\w+) \\|").FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = m[2]
	}
	seen := map[string]bool{}
	for _, r := range loadRules(t) {
		require.NotEmpty(t, r.Alert, "recording rules are not expected in %s", rulesFile)
		assert.False(t, seen[r.Alert], "alert %s defined twice", r.Alert)
		seen[r.Alert] = true
		assert.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "severity of %s", r.Alert)
		assert.NotEmpty(t, r.Annotations["summary"], "summary of %s", r.Alert)
		assert.NotEmpty(t, r.Annotations["description"], "description of %s", r.Alert)
		assert.Equal(t, r.Labels["severity"], documented[r.Alert], "README alert table row of %s", r.Alert)
	}
	for alert := range documented {
		assert.True(t, seen[alert], "README documents %s, which %s does not define", alert, rulesFile)
	}
}

// grafanaDashboard is the part of the dashboard model the tests read.
type grafanaDashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Inputs        []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *dataSourceRef  `json:"datasource"`
			Multi      bool            `json:"multi"`
			IncludeAll bool            `json:"includeAll"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type dataSourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *dataSourceRef `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID        string         `json:"refId"`
		Expr         string         `json:"expr"`
		LegendFormat string         `json:"legendFormat"`
		Datasource   *dataSourceRef `json:"datasource"`
	} `json:"targets"`
}

var dashboardFiles = map[string][]string{ // file -> panel titles that must exist
	"grafana/workspace-health.json": {
		"Clusters running", "Clusters in ERROR", "Cluster state", "Workers: current vs target",
		"Cluster events by type", "Job run failure rate (range)", "Finished runs by result",
		"Active runs by state", "Run duration p50 / p95", "Jobs with most failed runs (range)",
		"Warehouse state", "Running clusters per warehouse",
		"CPU utilisation by mode (mean over nodes)", "Memory and swap utilisation (max over nodes)",
		"Lowest free disk per node and mount", "Network throughput by direction",
		"DBUs per hour by SKU", "DBUs by product (range)", "Principals by kind",
	},
	"grafana/access-monitoring.json": {
		"Audit events (range)", "Failed requests (range)", "Audit events by service",
		"Audit events by workspace", "Top actions (range)", "Top failing actions (range)",
		"Responses by status class", "Critical findings (range)", "Findings by severity",
		"Findings by rule", "Findings by rule and severity (range)",
		"Top identities by findings (range)", "Top identities by critical and high findings (range)",
	},
}

const dataSourceVariable = "${DS_PROMETHEUS}"

func loadDashboard(t *testing.T, file string) grafanaDashboard {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	require.True(t, json.Valid(raw), "%s is not valid JSON", file)
	var d grafanaDashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	return d
}

func TestDashboardsAreValid(t *testing.T) {
	uids := map[string]bool{}
	for file, wantTitles := range dashboardFiles {
		t.Run(file, func(t *testing.T) {
			d := loadDashboard(t, file)
			assert.NotEmpty(t, d.Title)
			assert.NotEmpty(t, d.UID)
			assert.False(t, uids[d.UID], "uid %s used twice", d.UID)
			uids[d.UID] = true
			assert.GreaterOrEqual(t, d.SchemaVersion, 36)
			assert.LessOrEqual(t, d.SchemaVersion, 41)

			require.Len(t, d.Inputs, 1)
			assert.Equal(t, "DS_PROMETHEUS", d.Inputs[0].Name)
			assert.Equal(t, "datasource", d.Inputs[0].Type)
			assert.Equal(t, "prometheus", d.Inputs[0].PluginID)

			vars := map[string]int{}
			for i, v := range d.Templating.List {
				vars[v.Name] = i
			}
			require.Contains(t, vars, "DS_PROMETHEUS")
			assert.Equal(t, "datasource", d.Templating.List[vars["DS_PROMETHEUS"]].Type)
			require.Contains(t, vars, "workspace")
			ws := d.Templating.List[vars["workspace"]]
			assert.Equal(t, "query", ws.Type)
			assert.True(t, ws.Multi && ws.IncludeAll, "workspace variable is multi-value with All")
			require.NotNil(t, ws.Datasource)
			assert.Equal(t, dataSourceVariable, ws.Datasource.UID)

			ids := map[int]bool{}
			var titles []string
			for _, p := range d.Panels {
				assert.False(t, ids[p.ID], "panel id %d used twice", p.ID)
				ids[p.ID] = true
				titles = append(titles, p.Title)
				assert.Positive(t, p.GridPos.W, "width of %q", p.Title)
				assert.Positive(t, p.GridPos.H, "height of %q", p.Title)
				assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "%q overflows the grid", p.Title)
				if p.Type == "row" {
					continue
				}
				require.NotNil(t, p.Datasource, "data source of %q", p.Title)
				assert.Equal(t, dataSourceVariable, p.Datasource.UID, "data source of %q", p.Title)
				require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
				for _, target := range p.Targets {
					assert.NotEmpty(t, target.Expr, "panel %q has an empty query", p.Title)
					require.NotNil(t, target.Datasource, "data source of a query of %q", p.Title)
					assert.Equal(t, dataSourceVariable, target.Datasource.UID, "data source of a query of %q", p.Title)
				}
			}
			for _, want := range wantTitles {
				assert.Contains(t, titles, want)
			}
		})
	}
}

// promqlExpression is one PromQL expression of a dashboard or of the rules, with where it is.
type promqlExpression struct {
	Where  string
	Expr   string
	Legend string
	// InDashboard expressions must filter every databricks_* selector by the workspace variable.
	InDashboard bool
}

var (
	labelValuesRe   = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
	legendLabelRe   = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	workspaceFilter = "databricks_workspace_id"
)

func allExpressions(t *testing.T) []promqlExpression {
	t.Helper()
	var exprs []promqlExpression
	for _, r := range loadRules(t) {
		exprs = append(exprs, promqlExpression{Where: rulesFile + ": " + r.Alert, Expr: r.Expr})
	}
	files := make([]string, 0, len(dashboardFiles))
	for file := range dashboardFiles {
		files = append(files, file)
	}
	slices.Sort(files)
	for _, file := range files {
		d := loadDashboard(t, file)
		for _, p := range d.Panels {
			for _, target := range p.Targets {
				exprs = append(exprs, promqlExpression{
					Where: fmt.Sprintf("%s: panel %q %s", file, p.Title, target.RefID),
					Expr:  target.Expr, Legend: target.LegendFormat, InDashboard: true,
				})
			}
		}
	}
	return exprs
}

// TestQueriesUseOnlyContractNames extracts every metric and label name from every PromQL
// expression of the dashboards and rules and checks it against the contract table, so that a
// typo or a metric nobody produces fails here instead of showing an empty panel.
func TestQueriesUseOnlyContractNames(t *testing.T) {
	c := loadContract(t)
	exprs := allExpressions(t)
	require.Greater(t, len(exprs), 40)
	for _, e := range exprs {
		refs, err := parsePromQL(e.Expr)
		require.NoError(t, err, e.Where)
		require.NotEmpty(t, refs.Selectors, "%s uses no metric", e.Where)
		exprLabels := map[string]bool{}
		for _, sel := range refs.Selectors {
			labels, ok := c.labelsBySeries[sel.Metric]
			if !assert.True(t, ok, "%s: metric %s is not in the contract table of README.md", e.Where, sel.Metric) {
				continue
			}
			for _, l := range labels {
				exprLabels[l] = true
			}
			for _, l := range sel.Labels {
				assert.Contains(t, labels, l, "%s: %s has no label %s", e.Where, sel.Metric, l)
			}
			if e.InDashboard && strings.HasPrefix(sel.Metric, "databricks_") {
				assert.Contains(t, sel.Labels, workspaceFilter, "%s: %s is not filtered by $workspace", e.Where, sel.Metric)
			}
		}
		for _, l := range refs.GroupingLabels {
			assert.True(t, exprLabels[l], "%s: grouping label %s belongs to none of its metrics", e.Where, l)
		}
		for _, m := range legendLabelRe.FindAllStringSubmatch(e.Legend, -1) {
			assert.True(t, exprLabels[m[1]], "%s: legend label %s belongs to none of its metrics", e.Where, m[1])
		}
	}
}

func TestWorkspaceVariableQueriesUseContractNames(t *testing.T) {
	c := loadContract(t)
	for file := range dashboardFiles {
		d := loadDashboard(t, file)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var q struct {
				Query string `json:"query"`
			}
			require.NoError(t, json.Unmarshal(v.Query, &q), "%s: variable %s", file, v.Name)
			m := labelValuesRe.FindStringSubmatch(q.Query)
			require.NotNil(t, m, "%s: variable %s query %q is not label_values(metric, label)", file, v.Name, q.Query)
			labels, ok := c.labelsBySeries[m[1]]
			require.True(t, ok, "%s: variable %s uses metric %s, which is not in the contract", file, v.Name, m[1])
			assert.Contains(t, labels, m[2], "%s: variable %s", file, v.Name)
		}
	}
}
