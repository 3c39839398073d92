// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/otlptranslator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const contractMarker = "<!-- contract table:"

// contractRow is one row of the Prometheus contract table in README.md.
type contractRow struct {
	OTelName   string
	Instrument string // gauge | monotonic sum | non-monotonic sum | histogram
	Unit       string
	PromName   string
	Labels     []string // Prometheus label names, resource-label groups expanded
}

// contract is the parsed table: the Prometheus names dashboards and rules may use.
type contract struct {
	Rows []contractRow
	// labelsBySeries maps every series name (histograms expanded to _bucket/_sum/_count) to its
	// labels.
	labelsBySeries map[string][]string
}

// Resource labels per group, as the README lists them.
var resourceLabelGroups = map[string][]string{
	"workspace": {"databricks_workspace_id", "databricks_workspace_url"},
	"cluster":   {"databricks_workspace_id", "databricks_workspace_url", "databricks_cluster_id", "databricks_cluster_name"},
	"job":       {"databricks_workspace_id", "databricks_workspace_url", "databricks_job_id", "databricks_job_name"},
	"warehouse": {"databricks_workspace_id", "databricks_workspace_url", "databricks_warehouse_id"},
	"node":      {"databricks_workspace_id", "databricks_workspace_url", "databricks_cluster_id", "databricks_node_instance_id"},
	"audit":     {"databricks_workspace_id", "databricks_account_id", "cloud_provider"},
	"collector": {"job", "instance"},
}

var (
	codeSpan      = regexp.MustCompile("`([^`]*)`")
	readmeGroupRe = regexp.MustCompile(`(?m)^- \*\*(\w+)\*\*: (.*)$`)
)

func loadContract(t *testing.T) contract {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	c := contract{labelsBySeries: map[string][]string{}}

	idx := strings.Index(string(readme), contractMarker)
	require.GreaterOrEqual(t, idx, 0, "README.md lost the %q marker before the contract table", contractMarker)
	sc := bufio.NewScanner(strings.NewReader(string(readme[idx:])))
	sc.Scan() // the marker
	sc.Scan() // header
	require.Equal(t, "| OTel metric | instrument | unit | Prometheus name | labels |", strings.TrimSpace(sc.Text()), "contract table header changed")
	sc.Scan() // separator
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			break
		}
		row, err := parseContractRow(line)
		require.NoError(t, err)
		c.Rows = append(c.Rows, row)
		for _, series := range seriesNames(row) {
			_, dup := c.labelsBySeries[series]
			require.False(t, dup, "series %s appears twice in the contract table", series)
			c.labelsBySeries[series] = row.Labels
		}
	}
	require.NotEmpty(t, c.Rows)
	return c
}

func parseContractRow(line string) (contractRow, error) {
	cells := strings.Split(strings.Trim(line, "|"), "|")
	if len(cells) != 5 {
		return contractRow{}, fmt.Errorf("contract row has %d cells, want 5: %s", len(cells), line)
	}
	firstCode := func(cell string) string {
		if m := codeSpan.FindStringSubmatch(cell); m != nil {
			return m[1]
		}
		return ""
	}
	row := contractRow{
		OTelName:   firstCode(cells[0]),
		Instrument: strings.TrimSpace(cells[1]),
		Unit:       firstCode(cells[2]),
		PromName:   firstCode(cells[3]),
	}
	if row.OTelName == "" || row.PromName == "" {
		return contractRow{}, fmt.Errorf("contract row without an OTel or Prometheus name: %s", line)
	}
	// Labels are code spans; bare words name a resource-label group; parentheses list values.
	labelsCell := regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(cells[4], "")
	for _, item := range strings.Split(labelsCell, ",") {
		item = strings.TrimSpace(item)
		if m := codeSpan.FindStringSubmatch(item); m != nil {
			row.Labels = append(row.Labels, m[1])
			continue
		}
		group, ok := resourceLabelGroups[item]
		if !ok {
			return contractRow{}, fmt.Errorf("unknown label group %q in contract row: %s", item, line)
		}
		row.Labels = append(row.Labels, group...)
	}
	return row, nil
}

// seriesNames is what Prometheus stores for a row: a histogram is three series.
func seriesNames(row contractRow) []string {
	if row.Instrument == "histogram" {
		return []string{row.PromName + "_bucket", row.PromName + "_sum", row.PromName + "_count"}
	}
	return []string{row.PromName}
}

func metricType(instrument string) (otlptranslator.MetricType, error) {
	switch instrument {
	case "gauge":
		return otlptranslator.MetricTypeGauge, nil
	case "monotonic sum":
		return otlptranslator.MetricTypeMonotonicCounter, nil
	case "non-monotonic sum":
		return otlptranslator.MetricTypeNonMonotonicCounter, nil
	case "histogram":
		return otlptranslator.MetricTypeHistogram, nil
	}
	return 0, fmt.Errorf("unknown instrument %q", instrument)
}

// TestContractNamesFollowTheExporter recomputes every Prometheus name of the table with the
// translator the prometheus exporter v0.161.0 uses, at the exporter's default settings.
func TestContractNamesFollowTheExporter(t *testing.T) {
	c := loadContract(t)
	namer := otlptranslator.MetricNamer{WithMetricSuffixes: true, UTF8Allowed: false}
	for _, row := range c.Rows {
		t.Run(row.OTelName, func(t *testing.T) {
			mt, err := metricType(row.Instrument)
			require.NoError(t, err)
			got, err := namer.Build(otlptranslator.Metric{Name: row.OTelName, Unit: row.Unit, Type: mt})
			require.NoError(t, err)
			assert.Equal(t, got, row.PromName, "the exporter names %s (%s, unit %q) %s", row.OTelName, row.Instrument, row.Unit, got)
			assert.NotEmpty(t, row.Labels)
		})
	}
}

// TestContractCoversDesign checks that every DESIGN §3.2 metric and the two count-connector
// counters are in the table.
func TestContractCoversDesign(t *testing.T) {
	c := loadContract(t)
	var names []string
	for _, row := range c.Rows {
		names = append(names, row.OTelName)
	}
	for _, want := range []string{
		"databricks.cluster.state", "databricks.cluster.workers", "databricks.cluster.uptime",
		"databricks.cluster.cores", "databricks.cluster.memory", "databricks.cluster.events",
		"databricks.job.runs", "databricks.job.run.duration", "databricks.job.runs.active",
		"databricks.warehouse.state", "databricks.warehouse.clusters",
		"databricks.node.cpu.utilization", "databricks.node.memory.utilization",
		"databricks.node.swap.utilization", "databricks.node.network.io", "databricks.node.disk.free",
		"databricks.billing.usage", "databricks.identity.principals",
		"databricks.access_anomaly.findings", "databricks.audit.events",
	} {
		assert.Contains(t, names, want)
	}
}

// receiverMetadata is the part of an mdatagen metadata.yaml the contract depends on.
type receiverMetadata struct {
	Attributes map[string]struct {
		NameOverride string `yaml:"name_override"`
	} `yaml:"attributes"`
	Metrics map[string]struct {
		Unit  string    `yaml:"unit"`
		Gauge *struct{} `yaml:"gauge"`
		Sum   *struct {
			Monotonic bool `yaml:"monotonic"`
		} `yaml:"sum"`
		Histogram  *struct{} `yaml:"histogram"`
		Attributes []string  `yaml:"attributes"`
	} `yaml:"metrics"`
}

// TestContractMatchesReceiverMetadata catches drift between the table and the databricks
// receiver: a changed unit or instrument renames the Prometheus series, a changed attribute
// renames a label.
func TestContractMatchesReceiverMetadata(t *testing.T) {
	path := filepath.Join("..", "receiver", "databricksreceiver", "metadata.yaml")
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s does not exist (yet): nothing to cross-check", path)
	}
	require.NoError(t, err)
	var md receiverMetadata
	require.NoError(t, yaml.Unmarshal(raw, &md))
	require.NotEmpty(t, md.Metrics, "%s declares no metrics", path)

	c := loadContract(t)
	labelNamer := otlptranslator.LabelNamer{UnderscoreLabelSanitization: true} //nolint:staticcheck // the exporter v0.161.0 sets it
	for _, row := range c.Rows {
		m, ok := md.Metrics[row.OTelName]
		if !ok {
			continue // not an mdatagen metric (histogram built by hand, connector counters, self-telemetry)
		}
		t.Run(row.OTelName, func(t *testing.T) {
			instrument := "gauge"
			switch {
			case m.Sum != nil && m.Sum.Monotonic:
				instrument = "monotonic sum"
			case m.Sum != nil:
				instrument = "non-monotonic sum"
			case m.Histogram != nil:
				instrument = "histogram"
			}
			assert.Equal(t, instrument, row.Instrument, "instrument in %s", path)
			assert.Equal(t, m.Unit, row.Unit, "unit in %s", path)
			for _, attr := range m.Attributes {
				key := attr
				if override := md.Attributes[attr].NameOverride; override != "" {
					key = override
				}
				label, err := labelNamer.Build(key)
				require.NoError(t, err)
				assert.Contains(t, row.Labels, label, "attribute %s of %s", key, row.OTelName)
			}
		})
	}
}

// TestContractResourceGroupsMatchReadme keeps the Go copy of the resource-label groups equal to
// the list in README.md.
func TestContractResourceGroupsMatchReadme(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	found := map[string][]string{}
	for _, m := range readmeGroupRe.FindAllStringSubmatch(string(readme), -1) {
		var labels []string
		if strings.HasPrefix(m[2], "workspace + ") {
			labels = append(labels, resourceLabelGroups["workspace"]...)
		}
		for _, code := range codeSpan.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(labels, code[1]) {
				labels = append(labels, code[1])
			}
		}
		found[m[1]] = labels
	}
	assert.Equal(t, resourceLabelGroups, found)
}
