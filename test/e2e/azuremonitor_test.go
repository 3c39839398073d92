//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// waitForEnvelope waits for an envelope of baseType for which match is true.
func waitForEnvelope(t *testing.T, f *fakeAppInsights, baseType, what string, within time.Duration, match func(aiEnvelope) bool) aiEnvelope {
	t.Helper()
	var found aiEnvelope
	waitFor(t, within, what, func() error {
		e, n, ok := f.find(baseType, match)
		if !ok {
			return fmt.Errorf("not among %d %s envelopes", n, baseType)
		}
		found = e
		return nil
	})
	return found
}

// aiSeverityOfFinding is the Application Insights severity level of a finding of each
// anomaly.severity: the finding's log severity (DESIGN §3.3) mapped by the exporter.
var aiSeverityOfFinding = map[string]int{"info": 1, "low": 1, "medium": 2, "high": 3, "critical": 4}

// TestAzureMonitor runs configs/azure-monitor.yaml against the live simulator and a local
// Application Insights ingestion endpoint named in the connection string. Health logs, audit
// records and findings must arrive as MessageData with their attributes as properties, metrics
// as MetricData with the simulator's values.
func TestAzureMonitor(t *testing.T) {
	sim := startSimulator(t, demoSimulation...)
	fake, endpoint := startFakeAppInsights(t)
	const ikey = "00000000-0000-4000-8000-00000000e2e0"
	cfg := shippedConfig(t, "azure-monitor.yaml")
	rc := startCollectorWithArgs(t, cfg, []string{noOwnTelemetry}, append(sim.env(t),
		"APPLICATIONINSIGHTS_CONNECTION_STRING=InstrumentationKey="+ikey+";IngestionEndpoint="+endpoint+"/",
		"AZURE_MONITOR_MAX_BATCH_INTERVAL=500ms",
		"HEALTH_CHECK_ENDPOINT="+freeAddress(t),
		"OTELCOL_STORAGE_DIR="+t.TempDir(),
		"COLLECTION_INTERVAL=2s",
		"BATCH_TIMEOUT=200ms",
		"AUDIT_POLL_INTERVAL=2s",
		"AUDIT_POLL_DELAY=0s",
		"AUDIT_INITIAL_LOOKBACK=4h",
	)...)

	clusters := sim.clusters(t)
	c := clusters[0]
	m := waitForEnvelope(t, fake, "MetricData", "databricks.cluster.memory of "+c.ID, 60*time.Second, func(e aiEnvelope) bool {
		return len(e.Data.BaseData.Metrics) == 1 && e.Data.BaseData.Metrics[0].Name == "databricks.cluster.memory" &&
			e.Data.BaseData.Properties["databricks.cluster.id"] == c.ID
	})
	if got, want := m.Data.BaseData.Metrics[0].Value, float64(c.MemoryMB*1024*1024); got != want {
		t.Errorf("databricks.cluster.memory of %s = %v, the simulator says %v", c.ID, got, want)
	}
	if m.IKey != ikey {
		t.Errorf("iKey %q, want the connection string's %q", m.IKey, ikey)
	}
	w := waitForEnvelope(t, fake, "MetricData", "databricks.cluster.workers{kind=target}", 30*time.Second, func(e aiEnvelope) bool {
		return len(e.Data.BaseData.Metrics) == 1 && e.Data.BaseData.Metrics[0].Name == "databricks.cluster.workers" &&
			e.Data.BaseData.Properties["kind"] == "target"
	})
	if w.Data.BaseData.Properties["databricks.cluster.name"] == "" {
		t.Errorf("workers metric without the cluster name as a custom dimension: %v", w.Data.BaseData.Properties)
	}

	health := waitForEnvelope(t, fake, "MessageData", "a cluster event or job run", 60*time.Second, func(e aiEnvelope) bool {
		name := e.Data.BaseData.Properties["event.name"]
		return name == "databricks.cluster.event" || name == "databricks.job.run"
	})
	if health.Data.BaseData.Message == "" {
		t.Errorf("health log without a message: %+v", health.Data.BaseData)
	}

	truth := sim.truth(t)
	// Unity Catalog events are account-level and carry workspace id 0; take a workspace event.
	rec := waitForEnvelope(t, fake, "MessageData", "a workspace audit record", 60*time.Second, func(e aiEnvelope) bool {
		return e.Data.BaseData.Properties["event.name"] == "databricks.audit" && e.Data.BaseData.Properties["databricks.service_name"] != "unityCatalog"
	})
	props := rec.Data.BaseData.Properties
	for _, key := range []string{"databricks.service_name", "databricks.action_name", "databricks.event_id", "user.email"} {
		if props[key] == "" {
			t.Errorf("audit record lacks custom dimension %s: %v", key, props)
		}
	}
	if props["databricks.workspace.id"] != truth.WorkspaceID {
		t.Errorf("audit record databricks.workspace.id = %q, want %s (resource attributes are custom dimensions)", props["databricks.workspace.id"], truth.WorkspaceID)
	}
	var original map[string]any
	if err := json.Unmarshal([]byte(rec.Data.BaseData.Message), &original); err != nil {
		t.Errorf("audit record message is not the original record as JSON: %v: %q", err, tail(rec.Data.BaseData.Message, 200))
	}
	finding := waitForEnvelope(t, fake, "MessageData", "a finding", 90*time.Second, func(e aiEnvelope) bool {
		return e.Data.BaseData.Properties["event.name"] == "databricks.access_anomaly"
	})
	fp := finding.Data.BaseData.Properties
	if want, ok := aiSeverityOfFinding[fp["anomaly.severity"]]; !ok || finding.Data.BaseData.SeverityLevel != want {
		t.Errorf("finding severity %q arrived as level %d, want %d", fp["anomaly.severity"], finding.Data.BaseData.SeverityLevel, want)
	}
	if fp["security_rule.uuid"] == "" || finding.Data.BaseData.Message == "" {
		t.Errorf("finding without rule id or sentence: %+v", finding.Data.BaseData)
	}
	waitForEnvelope(t, fake, "MetricData", "databricks.audit.events", 30*time.Second, func(e aiEnvelope) bool {
		return len(e.Data.BaseData.Metrics) == 1 && e.Data.BaseData.Metrics[0].Name == "databricks.audit.events" &&
			e.Data.BaseData.Properties["databricks.service_name"] != "" && e.Data.BaseData.Metrics[0].Value > 0
	})
	rc.stop(t, 20*time.Second)
}
