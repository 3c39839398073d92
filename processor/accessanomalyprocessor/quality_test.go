// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"net/netip"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

// scenarioLogs generates a simulator scenario and normalises every event
// with the audit receiver's own parser, in batches of up to batchSize
// records in event-time order, the way the receiver would hand them on.
func scenarioLogs(t *testing.T, file string, batchSize int) ([]plog.Logs, []simulator.Expectation, *simulator.Scenario) {
	t.Helper()
	s, err := simulator.LoadScenario(filepath.Join("..", "..", "configs", "sim", file))
	require.NoError(t, err)
	events, truth, err := simulator.Generate(s, simulator.Options{})
	require.NoError(t, err)
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	parser := auditlog.NewParser()
	var out []plog.Logs
	batch := auditlog.NewBatch(parser, "quality", "test")
	for i := range events {
		require.NoError(t, batch.AppendDeliveryLine(events[i].DeliveryLine(), events[i].WorkspaceID))
		if batch.Len() >= batchSize {
			out = append(out, enrichGeo(batch.Take()))
		}
	}
	if batch.Len() > 0 {
		out = append(out, enrichGeo(batch.Take()))
	}
	return out, truth, s
}

// enrichGeo stands in for the geoip processor (context: record) with the
// locations of the MaxMind test networks the simulator uses.
var testGeo = []struct {
	prefix   netip.Prefix
	lat, lon float64
}{
	{netip.MustParsePrefix("81.2.69.142/31"), 51.5142, -0.0931}, // London
	{netip.MustParsePrefix("175.16.199.0/24"), 43.88, 125.3228}, // Changchun
}

func enrichGeo(ld plog.Logs) plog.Logs {
	forEachRecord(ld, func(lr plog.LogRecord) {
		v, ok := lr.Attributes().Get("source.address")
		if !ok {
			return
		}
		a, err := netip.ParseAddr(v.Str())
		if err != nil {
			return
		}
		for _, g := range testGeo {
			if g.prefix.Contains(a) {
				lr.Attributes().PutDouble("geo.location.lat", g.lat)
				lr.Attributes().PutDouble("geo.location.lon", g.lon)
			}
		}
	})
	return ld
}

func qualityConfig(s *simulator.Scenario) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Timezone = "Europe/Berlin"
	cfg.Lists = map[string][]string{
		"sensitive_tables": {"main.hr.*", "*.pii_*"},
		"allowed_cidrs":    s.Workspace.CorporateCIDRs,
	}
	// The scenarios are two weeks long: dormancy is exercised with a
	// shorter silence than the 90-day default.
	cfg.Overrides = map[string]map[string]any{"DBX-B11": {"inactive_for": "192h"}}
	return cfg
}

// runFindings feeds every batch through a fresh processor and returns the
// finding records.
func runFindings(t *testing.T, cfg *Config, batches []plog.Logs) []plog.LogRecord {
	h := startHarness(t, cfg, componenttest.NewNopHost())
	var out []plog.LogRecord
	for _, ld := range batches {
		require.NoError(t, h.proc.ConsumeLogs(context.Background(), ld))
	}
	for _, ld := range h.sink.AllLogs() {
		forEachRecord(ld, func(lr plog.LogRecord) {
			if lr.EventName() == "databricks.access_anomaly" {
				out = append(out, lr)
			}
		})
	}
	return out
}

func eventTime(lr plog.LogRecord, key string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, attrStr(lr, key))
	return t
}

// TestQualityAttacksRecall: every injected attack is found, for the right
// identity (or source address for the per-address spray rule), near the
// attack's time.
func TestQualityAttacksRecall(t *testing.T) {
	if testing.Short() {
		t.Skip("scenario run")
	}
	batches, truth, s := scenarioLogs(t, "attacks.yaml", 1000)
	require.NotEmpty(t, truth)
	findings := runFindings(t, qualityConfig(s), batches)
	const slack = 2 * time.Hour
	var missed []string
	for _, exp := range truth {
		found := false
		for _, f := range findings {
			if ruleOf(f) != exp.Rule {
				continue
			}
			who := attrStr(f, "user.email") == exp.Identity
			if exp.Rule == "DBX-W01b" {
				who = attrStr(f, "source.address") == exp.SourceAddress
			}
			first, last := eventTime(f, "alert.first_event_time"), eventTime(f, "alert.last_event_time")
			if who && !last.Before(exp.From.Add(-slack)) && !first.After(exp.To.Add(slack)) {
				found = true
				break
			}
		}
		if !found {
			missed = append(missed, exp.Rule+" "+exp.Identity+" "+exp.Description)
			for _, f := range findings {
				if ruleOf(f) == exp.Rule {
					t.Logf("  candidate %s %s %s %s..%s", exp.Rule, attrStr(f, "user.email"), attrStr(f, "source.address"), attrStr(f, "alert.first_event_time"), attrStr(f, "alert.last_event_time"))
				}
			}
		}
	}
	recall := float64(len(truth)-len(missed)) / float64(len(truth))
	t.Logf("attacks: %d expectations, recall %.1f%%, %d findings in total", len(truth), 100*recall, len(findings))
	assert.Empty(t, missed, "recall must be 100%%")
}

// TestQualityQuietFalsePositives: normal behaviour of 200 users over two
// weeks gives at most 5 medium-or-higher findings once the first week of
// learning is over.
func TestQualityQuietFalsePositives(t *testing.T) {
	if testing.Short() {
		t.Skip("scenario run")
	}
	batches, _, s := scenarioLogs(t, "quiet.yaml", 1000)
	cfg := qualityConfig(s)
	// DBX-S10 is a policy rule: it reports every successful access from
	// outside allowed_cidrs. In this world 30% of the work happens from home
	// networks and people travel, so with the corporate networks as
	// allowed_cidrs it fires by design (about 2,000 high findings over the
	// two weeks); it is left inactive here, as a deployment whose users work
	// from anywhere would.
	delete(cfg.Lists, "allowed_cidrs")
	findings := runFindings(t, cfg, batches)
	start, err := s.StartTime(time.Now())
	require.NoError(t, err)
	learnedFrom := start.Add(7 * 24 * time.Hour)
	byRule := map[string]int{}
	var mediumPlus, total int
	bySeverity := map[string]int{}
	for _, f := range findings {
		total++
		bySeverity[attrStr(f, "anomaly.severity")]++
		if attrStr(f, "anomaly.rollup") == "true" {
			continue
		}
		sev := attrStr(f, "anomaly.severity")
		if sev == "info" || sev == "low" || eventTime(f, "alert.last_event_time").Before(learnedFrom) {
			continue
		}
		mediumPlus++
		byRule[ruleOf(f)+" "+sev]++
		t.Logf("  %s %s %s %s", ruleOf(f), attrStr(f, "user.email"), attrStr(f, "alert.first_event_time"), attrStr(f, "anomaly.reason"))
	}
	t.Logf("quiet: %d findings in total %v, %d medium+ after the first week: %v", total, bySeverity, mediumPlus, byRule)
	assert.LessOrEqual(t, mediumPlus, 5)
}
