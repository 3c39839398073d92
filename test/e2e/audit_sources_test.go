//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	sim "github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/test/fakes3"
)

// Acceptance of issue 4: every audit source, read by the built binary, delivers each simulated
// event exactly once — also across a restart with the same storage, including the events
// that arrived while the collector was down.

// auditSource is one way the databricks_audit receiver gets the simulator's events.
type auditSource struct {
	name     string // the databricks.audit.source the records must carry
	receiver string // receiver YAML (indented by two spaces)
	env      []string
	// advance makes the next share of the events available (stage 0 before the first start,
	// 1 while the collector runs, 2 while it is down) and returns the ids of every event
	// available so far.
	advance func(t *testing.T, stage int) map[string]bool
}

const auditLogsPipeline = `    logs:
      receivers: [databricks_audit]
      exporters: [file]`

// runAuditRestart is the scenario every source passes: N events in -> exactly N records out;
// more events while running -> only those; stop, more events, start with the same storage ->
// exactly the new ones, no duplicates.
func runAuditRestart(t *testing.T, src auditSource) *receiverCollector {
	rc := newReceiverCollector(t, src.receiver, auditLogsPipeline, src.env...)

	want0 := src.advance(t, 0)
	rc.start()
	waitForIDs(t, rc, 1, src.name, want0, "first read")
	t.Logf("run 1: %d events read", len(want0))

	want1 := src.advance(t, 1)
	if len(want1) <= len(want0) {
		t.Fatalf("stage 1 made no new events available (%d before, %d after)", len(want0), len(want1))
	}
	waitForIDs(t, rc, 1, src.name, want1, "events added while running")
	settleIDs(t, rc, 1, src.name, want1)
	t.Logf("run 1: %d more events while running", len(want1)-len(want0))
	rc.stop()

	want2 := src.advance(t, 2)
	fresh := idsMinus(want2, want1)
	if len(fresh) == 0 {
		t.Fatal("stage 2 made no new events available while the collector was down")
	}
	rc.start()
	waitForIDs(t, rc, 2, src.name, fresh, "after the restart")
	settleIDs(t, rc, 2, src.name, fresh)
	t.Logf("run 2: exactly the %d events that arrived while it was down", len(fresh))
	return rc
}

// waitForIDs waits until run n emitted exactly the events of want, each once.
func waitForIDs(t *testing.T, rc *receiverCollector, n int, source string, want map[string]bool, what string) {
	t.Helper()
	rc.waitWhileRunning(75*time.Second, what, func() error {
		got, err := rc.auditIDs(n, source)
		if err != nil {
			return err
		}
		return diffIDs(got, want)
	})
}

// settleIDs checks that nothing more (no late duplicate) comes out over a few more polls.
func settleIDs(t *testing.T, rc *receiverCollector, n int, source string, want map[string]bool) {
	t.Helper()
	time.Sleep(3 * time.Second)
	got, err := rc.auditIDs(n, source)
	if err == nil {
		err = diffIDs(got, want)
	}
	if err != nil {
		t.Fatalf("after a few more polls: %v", err)
	}
}

// --- expected ids of object sources, computed from the objects' exact content ---

var workspacePartition = regexp.MustCompile(`(?:^|/)workspaceId=([^/]+)/`)

// lineIDs returns the databricks.event_id of every line of every object, as the receiver's
// normaliser derives it; it fails on a line the normaliser rejects or an id that two lines share,
// since then "exactly N records" would not be a meaningful comparison.
func lineIDs(t *testing.T, objects map[string][]byte, azure bool) map[string]bool {
	t.Helper()
	b := auditlog.NewBatch(auditlog.NewParser(), "e2e", "")
	keys := make([]string, 0, len(objects))
	for k := range objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	records := 0
	for _, k := range keys {
		sc := bufio.NewScanner(bytes.NewReader(objects[k]))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if azure {
				added, rejected, err := b.AppendAzureLine(sc.Bytes())
				if err != nil || rejected > 0 {
					t.Fatalf("%s: a line the normaliser rejects (%d rejected): %v", k, rejected, err)
				}
				records += added
				continue
			}
			m := workspacePartition.FindStringSubmatch(k)
			if m == nil {
				t.Fatalf("delivery object %s has no workspaceId= partition", k)
			}
			if err := b.AppendDeliveryLine(sc.Bytes(), m[1]); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			records++
		}
	}
	ids := map[string]bool{}
	eachLogRecord([]plog.Logs{b.Take()}, func(_ map[string]any, lr plog.LogRecord) {
		v, _ := lr.Attributes().Get(auditlog.AttrEventID)
		ids[v.Str()] = true
	})
	if len(ids) != records {
		t.Fatalf("%d records carry only %d distinct event ids", records, len(ids))
	}
	return ids
}

// objectStages delivers the simulator's objects in three steps (up to 80 and 130 minutes into
// the three-hour timeline, then everything, late lines included). The second step rewrites
// objects the collector has already read (their late lines); it must emit only the new lines.
func objectStages(w *sim.World, store *recordingStore, deliverer interface {
	Deliver(context.Context, time.Time) (int, error)
}, azure bool) func(t *testing.T, stage int) map[string]bool {
	cut := []time.Time{w.Start.Add(80 * time.Minute), w.Start.Add(130 * time.Minute), w.End.Add(24 * time.Hour)}
	return func(t *testing.T, stage int) map[string]bool {
		t.Helper()
		store.takeRewrites()
		before := store.snapshot()
		deliverUpTo(t, deliverer, cut[stage])
		if stage == 1 {
			var grown []string
			for _, k := range store.takeRewrites() {
				if _, ok := before[k]; ok {
					grown = append(grown, k)
				}
			}
			if len(grown) == 0 {
				t.Fatal("stage 1 rewrote no object that had been read: the rewrite case is not exercised")
			}
			t.Logf("stage 1 rewrote %d objects that had been read, e.g. %s", len(grown), grown[0])
		}
		return lineIDs(t, store.snapshot(), azure)
	}
}

func TestAuditDeliveryFileRestart(t *testing.T) {
	w := simWorld(t, 3*time.Hour, nil)
	dir := t.TempDir()
	store := newRecordingStore(stagedDirStore{root: dir, staging: t.TempDir()})
	src := auditSource{
		name: "delivery",
		receiver: fmt.Sprintf(`  databricks_audit:
    source: delivery
    storage: file_storage
    delivery:
      url: file://%s
      poll_interval: 1s`, filepath.ToSlash(dir)),
		advance: objectStages(w, store, sim.NewDeliverer(w, store), false),
	}
	runAuditRestart(t, src)
}

func TestAuditDeliveryS3Restart(t *testing.T) {
	for _, kv := range fakes3.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v) // for the simulator's in-process writer
	}
	s3, err := fakes3.Start("audit-bucket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s3.Close)
	url := s3.BucketURL("audit-bucket", "databricks")
	objects, err := sim.OpenStore(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := objects.(io.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	w := simWorld(t, 3*time.Hour, nil)
	store := newRecordingStore(objects)
	src := auditSource{
		name: "delivery",
		receiver: fmt.Sprintf(`  databricks_audit:
    source: delivery
    storage: file_storage
    delivery:
      url: %q
      poll_interval: 1s`, url),
		env:     fakes3.Env(),
		advance: objectStages(w, store, sim.NewDeliverer(w, store), false),
	}
	before := s3.Requests()
	rc := runAuditRestart(t, src)
	after := s3.Requests()
	if after["LIST"] <= before["LIST"] || after["GET"] <= before["GET"] {
		t.Errorf("the collector did not read through S3: requests before %v, after %v", before, after)
	}
	checkCloudProvider(t, rc, 2, "aws")
}

func TestAuditAzureDiagnosticsAzuriteRestart(t *testing.T) {
	az := startAzurite(t)
	container := az.createContainer(t, "insights")
	for _, kv := range az.env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v) // for the simulator's in-process writer
	}
	url := az.bucketURL(container)
	objects, err := sim.OpenStore(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := objects.(io.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	w := simWorld(t, 3*time.Hour, nil)
	store := newRecordingStore(objects)
	src := auditSource{
		name: "azure_diagnostics",
		receiver: fmt.Sprintf(`  databricks_audit:
    source: azure_diagnostics
    storage: file_storage
    azure_diagnostics:
      url: %q
      poll_interval: 1s`, url),
		env:     az.env(),
		advance: objectStages(w, store, sim.NewAzureWriter(w, store), true),
	}
	rc := runAuditRestart(t, src)
	checkCloudProvider(t, rc, 2, "azure")
}

func TestAuditSystemTableRestart(t *testing.T) {
	w := simWorld(t, 2*time.Hour, func(sc *sim.Scenario) { sc.Rate = 0.3 })
	// Three reveal points among the last 25 minutes' events: rows that become visible later
	// with an older event_time are what `overlap` exists for (ingestion lag), so every poll
	// re-reads rows it already emitted, and each must still come out once.
	var recent []sim.AuditEvent
	for _, e := range w.Events {
		if !e.Time.Before(w.End.Add(-25 * time.Minute)) {
			recent = append(recent, e)
		}
	}
	if len(recent) < 6 {
		t.Fatalf("the simulator generated only %d events in the last 25 minutes; the scenario is too quiet for this test", len(recent))
	}
	reveal := []time.Time{recent[len(recent)/3].Time, recent[2*len(recent)/3].Time, w.End}
	clock := newSimClock(reveal[0])
	api := serveSimAPI(t, w, sim.ServerOptions{Clock: clock.Now})
	src := auditSource{
		name: "system_table",
		receiver: fmt.Sprintf(`  databricks_audit:
    source: system_table
    endpoint: %s
    token: %s
    storage: file_storage
    system_table:
      warehouse_id: %s
      poll_interval: 1s
      initial_lookback: 24h
      overlap: 45m
      delay: 1s`, api.url, simToken, api.warehouseID(t)),
		env: []string{"DATABRICKS_CLIENT_ID=", "DATABRICKS_CLIENT_SECRET=", "DATABRICKS_CONFIG_FILE=/dev/null"},
		advance: func(t *testing.T, stage int) map[string]bool {
			clock.Set(reveal[stage])
			ids := map[string]bool{}
			for _, e := range w.Events {
				if !e.Time.After(reveal[stage]) {
					ids[e.EventID] = true
				}
			}
			return ids
		},
	}
	rc := runAuditRestart(t, src)
	// the restart re-read the overlap window, and the rows it had emitted were dropped
	if dropped, err := rc.selfMetric("otelcol_databricks_audit_duplicates_dropped"); err != nil || dropped == 0 {
		t.Errorf("duplicates dropped after the restart = %v (%v); want > 0: the polls did not overlap, so the dedup was not exercised", dropped, err)
	}
	if st := api.Stats(); st.Statements < 3 {
		t.Errorf("the simulator ran %d statements, want several polls", st.Statements)
	}
}

// checkCloudProvider checks the resource's cloud.provider of run n's records.
func checkCloudProvider(t *testing.T, rc *receiverCollector, n int, want string) {
	t.Helper()
	batches, err := rc.readLogs(n)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	eachLogRecord(batches, func(res map[string]any, _ plog.LogRecord) {
		if res["cloud.provider"] != want {
			bad++
		}
	})
	if bad > 0 {
		t.Errorf("%d records without resource cloud.provider=%s", bad, want)
	}
}
