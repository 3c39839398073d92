//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// emfDocument is one Embedded Metric Format log event: the `_aws` metadata plus one field per
// dimension, metric value and other label.
type emfDocument struct {
	Namespace  string
	Dimensions [][]string
	Units      map[string]string // metric name -> unit
	Fields     map[string]any
}

func parseEMF(message string) (emfDocument, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(message), &raw); err != nil {
		return emfDocument{}, err
	}
	var meta struct {
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	awsRaw, err := json.Marshal(raw["_aws"])
	if err != nil {
		return emfDocument{}, err
	}
	if err := json.Unmarshal(awsRaw, &meta); err != nil {
		return emfDocument{}, err
	}
	doc := emfDocument{Units: map[string]string{}, Fields: raw}
	for _, m := range meta.CloudWatchMetrics {
		doc.Namespace = m.Namespace
		doc.Dimensions = append(doc.Dimensions, m.Dimensions...)
		for _, metric := range m.Metrics {
			doc.Units[metric.Name] = metric.Unit
		}
	}
	return doc, nil
}

func (d emfDocument) hasDimensionSet(set ...string) bool {
	for _, ds := range d.Dimensions {
		if slices.Equal(ds, set) {
			return true
		}
	}
	return false
}

// findEMF returns the first EMF document of group for which match is true.
func findEMF(f *fakeCloudWatchLogs, group string, match func(emfDocument) bool) (emfDocument, bool) {
	for _, ev := range f.events(group) {
		doc, err := parseEMF(ev.Message)
		if err == nil && match(doc) {
			return doc, true
		}
	}
	return emfDocument{}, false
}

// checkEMFMetric waits for the EMF document that carries metric for the cluster (and, if kind
// is set, that worker kind) and checks namespace, unit, dimension set and value.
func checkEMFMetric(t *testing.T, f *fakeCloudWatchLogs, c simCluster, metric, kind, unit string, dims []string, want float64) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("EMF %s of cluster %s", metric, c.ID), func() error {
		doc, ok := findEMF(f, "/e2e/metrics", func(d emfDocument) bool {
			_, has := d.Units[metric]
			return has && d.Fields["databricks.cluster.id"] == c.ID && (kind == "" || d.Fields["kind"] == kind)
		})
		if !ok {
			return fmt.Errorf("no EMF document yet (log groups: %v)", f.groupNames())
		}
		if doc.Namespace != "Databricks/Workspace" {
			return fmt.Errorf("namespace %q", doc.Namespace)
		}
		if doc.Units[metric] != unit {
			return fmt.Errorf("unit %q, want %q", doc.Units[metric], unit)
		}
		if !doc.hasDimensionSet(dims...) {
			return fmt.Errorf("dimension sets %v lack %v", doc.Dimensions, dims)
		}
		if got, _ := doc.Fields[metric].(float64); got != want {
			return fmt.Errorf("value %v, the simulator says %v", doc.Fields[metric], want)
		}
		return nil
	})
}

// cwLogRecord is what the awscloudwatchlogs exporter writes per log record.
type cwLogRecord struct {
	Body       any            `json:"body"`
	Severity   string         `json:"severity_text"`
	Attributes map[string]any `json:"attributes"`
	Resource   map[string]any `json:"resource"`
}

// waitForLogRecord waits for a record in group for which match is true.
func waitForLogRecord(t *testing.T, f *fakeCloudWatchLogs, group, what string, within time.Duration, match func(cwLogRecord) bool) cwLogRecord {
	t.Helper()
	var found cwLogRecord
	waitFor(t, within, what, func() error {
		evs := f.events(group)
		for _, ev := range evs {
			var rec cwLogRecord
			if err := json.Unmarshal([]byte(ev.Message), &rec); err != nil {
				return fmt.Errorf("log event is not JSON: %v: %q", err, tail(ev.Message, 200))
			}
			if match(rec) {
				found = rec
				return nil
			}
		}
		return fmt.Errorf("not among %d events of %s (log groups: %v)", len(evs), group, f.groupNames())
	})
	return found
}

// TestCloudWatch runs configs/aws-cloudwatch.yaml against the live simulator and a local
// endpoint that speaks the CloudWatch Logs protocol, as both AWS exporters are pointed at it
// with `endpoint`. EMF documents must carry the metric names, CloudWatch units and dimension
// sets of the config with the simulator's values; health and audit records must arrive as log
// events with their attributes.
func TestCloudWatch(t *testing.T) {
	sim := startSimulator(t, demoSimulation...)
	fake, endpoint := startFakeCloudWatchLogs(t)
	cfg := shippedConfig(t, "aws-cloudwatch.yaml")
	rc := startCollectorWithArgs(t, cfg, []string{noOwnTelemetry}, append(sim.env(t),
		"AWS_ACCESS_KEY_ID=AKIAE2EFAKEKEY000000",
		"AWS_SECRET_ACCESS_KEY=e2e-fake-secret",
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_REGION=eu-west-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"CLOUDWATCH_LOGS_ENDPOINT="+endpoint,
		"CLOUDWATCH_LOG_GROUP_PREFIX=/e2e",
		"CLOUDWATCH_LOG_STREAM=e2e-stream",
		"HEALTH_CHECK_ENDPOINT="+freeAddress(t),
		"OTELCOL_STORAGE_DIR="+t.TempDir(),
		"COLLECTION_INTERVAL=2s",
		"BATCH_TIMEOUT=200ms",
		"AUDIT_POLL_INTERVAL=2s",
		"AUDIT_POLL_DELAY=0s",
		"AUDIT_INITIAL_LOOKBACK=4h",
	)...)

	// Static properties of the clusters: they do not change while the simulation runs.
	var autoscaling *simCluster
	clusters := sim.clusters(t)
	for i := range clusters {
		if clusters[i].Autoscale != nil {
			autoscaling = &clusters[i]
			break
		}
	}
	if autoscaling == nil {
		t.Fatal("the demo scenario has no autoscaling cluster")
	}
	c := *autoscaling
	checkEMFMetric(t, fake, c, "databricks.cluster.memory", "", "Bytes",
		[]string{"databricks.cluster.name"}, float64(c.MemoryMB*1024*1024))
	checkEMFMetric(t, fake, c, "databricks.cluster.workers", "autoscale_max", "Count",
		[]string{"databricks.cluster.name", "kind"}, float64(c.Autoscale.Max))
	checkEMFMetric(t, fake, c, "databricks.cluster.workers", "autoscale_min", "Count",
		[]string{"databricks.cluster.name", "kind"}, float64(c.Autoscale.Min))
	waitFor(t, 30*time.Second, "EMF databricks.cluster.uptime in Seconds", func() error {
		doc, ok := findEMF(fake, "/e2e/metrics", func(d emfDocument) bool { _, has := d.Units["databricks.cluster.uptime"]; return has })
		if !ok {
			return fmt.Errorf("no document yet")
		}
		if doc.Units["databricks.cluster.uptime"] != "Seconds" {
			return fmt.Errorf("unit %q", doc.Units["databricks.cluster.uptime"])
		}
		return nil
	})

	// Cluster events and finished job runs of the live simulation.
	rec := waitForLogRecord(t, fake, "/e2e/health", "a cluster event or job run in /e2e/health", 60*time.Second, func(r cwLogRecord) bool {
		name := r.Attributes["event.name"]
		return name == "databricks.cluster.event" || name == "databricks.job.run"
	})
	if rec.Attributes["event.name"] == "databricks.cluster.event" && rec.Resource["databricks.cluster.id"] == nil {
		t.Errorf("cluster event without databricks.cluster.id resource attribute: %+v", rec)
	}
	if got := fake.retentionOf("/e2e/health"); got != 30 {
		t.Errorf("retention of /e2e/health = %d days, the config says 30", got)
	}

	truth := sim.truth(t)
	// Unity Catalog events are account-level and carry workspace id 0; take a workspace event.
	auditRec := waitForLogRecord(t, fake, "/e2e/audit", "a workspace audit record in /e2e/audit", 60*time.Second, func(r cwLogRecord) bool {
		return r.Attributes["event.name"] == "databricks.audit" && r.Attributes["databricks.service_name"] != "unityCatalog"
	})
	for _, key := range []string{"databricks.service_name", "databricks.action_name", "databricks.event_id", "user.email", "databricks.audit.source"} {
		if s, _ := auditRec.Attributes[key].(string); s == "" {
			t.Errorf("audit record lacks attribute %s: %+v", key, auditRec.Attributes)
		}
	}
	if auditRec.Resource["databricks.workspace.id"] != truth.WorkspaceID {
		t.Errorf("audit record resource databricks.workspace.id = %v, want %s", auditRec.Resource["databricks.workspace.id"], truth.WorkspaceID)
	}
	if _, isMap := auditRec.Body.(map[string]any); !isMap {
		t.Errorf("audit record body is %T, want the original record as a map", auditRec.Body)
	}
	finding := waitForLogRecord(t, fake, "/e2e/audit", "a finding in /e2e/audit", 90*time.Second, func(r cwLogRecord) bool {
		return r.Attributes["event.name"] == "databricks.access_anomaly"
	})
	if s, _ := finding.Attributes["security_rule.uuid"].(string); len(s) < 5 || s[:4] != "DBX-" {
		t.Errorf("finding without a rule id: %+v", finding.Attributes)
	}
	if s, _ := finding.Body.(string); s == "" {
		t.Errorf("finding body %v, want its sentence", finding.Body)
	}
	waitFor(t, 30*time.Second, "EMF databricks.audit.events in Databricks/Security", func() error {
		doc, ok := findEMF(fake, "/e2e/security-metrics", func(d emfDocument) bool { _, has := d.Units["databricks.audit.events"]; return has })
		if !ok {
			return fmt.Errorf("no document yet (log groups: %v)", fake.groupNames())
		}
		if doc.Namespace != "Databricks/Security" || doc.Units["databricks.audit.events"] != "Count" ||
			!doc.hasDimensionSet("databricks.service_name", "http.response.status_class") {
			return fmt.Errorf("document %+v", doc)
		}
		return nil
	})
	rc.stop(t, 20*time.Second)
}
