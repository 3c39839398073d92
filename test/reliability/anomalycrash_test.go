//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

const anomalyCrashWorkspace = "4839201746501234"

// failedLoginLine is a delivery line of a failed interactive login by mallory; n makes its
// request id (and so its event id) unique.
func failedLoginLine(n int, at time.Time) string {
	return fmt.Sprintf(`{"version":"2.0","auditLevel":"WORKSPACE_LEVEL","timestamp":%d,"orgId":"%s","sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","sessionId":null,"userIdentity":{"email":"mallory@corp.example"},"serviceName":"accounts","actionName":"login","requestId":"crash-login-%d","requestParams":{"user":"mallory@corp.example"},"response":{"statusCode":401,"errorMessage":"Invalid credentials"}}`,
		at.UnixMilli(), anomalyCrashWorkspace, n)
}

// anomalyFinding is what the test reads of a finding record at the sink.
type anomalyFinding struct {
	rule, user string
	eventIDs   []string
}

// sinkFindings reads every access_anomaly finding a file exporter wrote, in order, and the
// audit records by event id.
func sinkFindings(t *testing.T, path string) ([]anomalyFinding, eventCounts) {
	t.Helper()
	records := eventCounts{}
	var findings []anomalyFinding
	forEachSinkRecord(t, path, func(lr plog.LogRecord) {
		attrs := lr.Attributes()
		if name, _ := attrs.Get("event.name"); name.Str() != "databricks.access_anomaly" {
			if id, ok := attrs.Get(auditlog.AttrEventID); ok {
				records[id.Str()]++
			}
			return
		}
		rule, _ := attrs.Get("security_rule.uuid")
		user, _ := attrs.Get("user.email")
		fd := anomalyFinding{rule: rule.Str(), user: user.Str()}
		if ids, ok := attrs.Get("databricks.event_ids"); ok {
			for i := 0; i < ids.Slice().Len(); i++ {
				fd.eventIDs = append(fd.eventIDs, ids.Slice().At(i).Str())
			}
		}
		findings = append(findings, fd)
	})
	return findings, records
}

// TestAccessAnomalyStateSurvivesSIGKILL kills a collector whose access_anomaly processor keeps
// its state in file_storage, twice, at the moments where losing that state changes what is
// reported: with a failed-login count below DBX-W01's threshold (5 in 60 minutes) and with its
// suppression window (2 h) open. After the first restart the two logins that complete the
// count must raise the finding, with the event ids of the logins before the kill; after the
// second, five more logins must stay folded into the open window. A processor that forgot its
// state would miss the first finding and repeat it after the second kill.
func TestAccessAnomalyStateSurvivesSIGKILL(t *testing.T) {
	requireComponents(t, "databricks_audit", "access_anomaly", "file", "file_storage")
	dir := t.TempDir()
	now := time.Now().UTC()
	deliveryDir := filepath.Join(dir, "audit")
	objDir := filepath.Join(deliveryDir, "workspaceId="+anomalyCrashWorkspace, "date="+now.Format(time.DateOnly))
	staging := filepath.Join(dir, "staging")
	for _, d := range []string{objDir, staging} {
		mustf(t, os.MkdirAll(d, 0o700), "mkdir")
	}
	sinkPath := filepath.Join(dir, "sink.jsonl")
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "collector.yaml", withFileStorage(fmt.Sprintf(`receivers:
  databricks_audit:
    source: delivery
    storage: file_storage
    delivery:
      url: file://%s
      poll_interval: 500ms
processors:
  access_anomaly:
    storage: file_storage
    state:
      flush_interval: 1s
exporters:
  file:
    path: %s
    rotation: {max_megabytes: 1024}
`, deliveryDir, sinkPath)+ports.serviceYAML("databricks_audit", "access_anomaly", "file"), filepath.Join(dir, "state")))

	parser := auditlog.NewParser()
	lr := plog.NewLogRecord()
	eventID := func(line string) string {
		lr.Attributes().Clear()
		_, err := parser.ParseDeliveryLine([]byte(line), anomalyCrashWorkspace, lr)
		mustf(t, err, "a test line does not parse")
		v, _ := lr.Attributes().Get(auditlog.AttrEventID)
		return v.Str()
	}
	var sent []string // event ids, in the order delivered
	n := 0
	// deliver writes logins at the given offsets from now as one object (renamed into the
	// directory, as a bucket makes an object visible whole), waits until they are at the sink
	// and until the processor has written its state since, and returns the findings then.
	deliver := func(p *process, name string, offsets ...time.Duration) []anomalyFinding {
		t.Helper()
		stateBefore := scrapeCounter(t, ports.telemetry, "otelcol_access_anomaly_state_bytes")
		var obj strings.Builder
		var ids []string
		for _, off := range offsets {
			line := failedLoginLine(n, now.Add(off))
			n++
			obj.WriteString(line + "\n")
			ids = append(ids, eventID(line))
		}
		sent = append(sent, ids...)
		tmp := filepath.Join(staging, name)
		mustf(t, os.WriteFile(tmp, []byte(obj.String()), 0o600), "write object")
		mustf(t, os.Rename(tmp, filepath.Join(objDir, name)), "publish object")
		var findings []anomalyFinding
		waitFor(t, 60*time.Second, name+" at the sink", func() error {
			if p.exited() {
				t.Fatalf("the collector exited: %v", p.err)
			}
			var records eventCounts
			findings, records = sinkFindings(t, sinkPath)
			for _, id := range ids {
				if records[id] == 0 {
					return fmt.Errorf("event %s not at the sink", id)
				}
			}
			return nil
		})
		// State is written every flush_interval (1 s); its size changes when the logins
		// changed it, and after 4 s a flush has happened whatever the size.
		deadline := time.Now().Add(4 * time.Second)
		for time.Now().Before(deadline) && scrapeCounter(t, ports.telemetry, "otelcol_access_anomaly_state_bytes") == stateBefore {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // one more flush and the receiver's checkpoint
		return findings
	}
	started := func() *process {
		p := startCollector(t, cfg)
		waitFor(t, 60*time.Second, "the collector's self-telemetry", func() error {
			if p.exited() {
				t.Fatalf("the collector exited: %v", p.err)
			}
			if !listening(ports.telemetry) {
				return fmt.Errorf("not listening on %s", ports.telemetry)
			}
			return nil
		})
		return p
	}
	w01 := func(findings []anomalyFinding) []anomalyFinding {
		var out []anomalyFinding
		for _, f := range findings {
			if f.rule == "DBX-W01" && f.user == "mallory@corp.example" {
				out = append(out, f)
			}
		}
		return out
	}

	p := started()
	if got := w01(deliver(p, "auditlogs_1.json", -10*time.Minute, -9*time.Minute, -8*time.Minute)); len(got) != 0 {
		t.Fatalf("3 failed logins (threshold 5) raised %d DBX-W01 findings", len(got))
	}
	p.kill()

	p = started()
	got := w01(deliver(p, "auditlogs_2.json", -7*time.Minute, -6*time.Minute))
	if len(got) != 1 {
		t.Fatalf("after a SIGKILL at 3 of 5 failed logins, the next 2 raised %d DBX-W01 findings, want 1 (the count was lost)", len(got))
	}
	if want := sent[:5]; !slices.Equal(got[0].eventIDs, want) {
		t.Errorf("the finding's databricks.event_ids %v, want the five logins %v (three of them before the kill)", got[0].eventIDs, want)
	}
	p.kill()

	p = started()
	got = w01(deliver(p, "auditlogs_3.json", -5*time.Minute, -4*time.Minute, -3*time.Minute, -2*time.Minute, -time.Minute))
	if len(got) != 1 {
		t.Errorf("after a SIGKILL with DBX-W01's 2-hour suppression window open, 5 more failed logins raised %d findings in all, want the 1 from before (the window was lost)", len(got))
	}
	p.stop(t, 30*time.Second)

	_, records := sinkFindings(t, sinkPath)
	for _, id := range sent {
		if records[id] != 1 {
			t.Errorf("event %s reached the sink %d times", id, records[id])
		}
	}
	if len(got) > 0 {
		t.Logf("RESULT anomaly-state-crash: 2 SIGKILLs; %d failed logins; DBX-W01 findings %d, the first with %d event ids",
			len(sent), len(got), len(got[0].eventIDs))
	}
}
