//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

// receiverCollector runs the built binary with one receiver feeding the `file` exporter and a
// `file_storage` extension that outlives restarts: each run writes to its own output file, so a
// test can tell what a run after a restart emitted.
type receiverCollector struct {
	t          *testing.T
	dir        string
	storageDir string
	receiver   string // the receivers: section's entries, YAML indented by two spaces
	pipelines  string // the service: pipelines: entries
	env        []string
	runs       int
	current    *runningCollector
	telemetry  string // host:port of the current run's own metrics
}

func newReceiverCollector(t *testing.T, receiver, pipelines string, env ...string) *receiverCollector {
	t.Helper()
	collectorBinary(t) // fail early, with the message, when the binary is missing
	dir := t.TempDir()
	rc := &receiverCollector{t: t, dir: dir, storageDir: filepath.Join(dir, "storage"), receiver: receiver, pipelines: pipelines, env: env}
	if err := os.MkdirAll(rc.storageDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return rc
}

// output is the file exporter's output of run n (1-based).
func (rc *receiverCollector) output(n int) string {
	return filepath.Join(rc.dir, fmt.Sprintf("run%d.jsonl", n))
}

func (rc *receiverCollector) config(n int) string {
	host, port, _ := strings.Cut(rc.telemetry, ":")
	return fmt.Sprintf(`extensions:
  file_storage:
    directory: %s
receivers:
%s
exporters:
  file:
    path: %s
    flush_interval: 100ms
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: %s
                port: %s
  pipelines:
%s
`, rc.storageDir, rc.receiver, rc.output(n), host, port, rc.pipelines)
}

// start begins the next run with the same storage.
func (rc *receiverCollector) start() {
	rc.t.Helper()
	rc.runs++
	rc.telemetry = freeAddress(rc.t)
	path := filepath.Join(rc.dir, fmt.Sprintf("config%d.yaml", rc.runs))
	if err := os.WriteFile(path, []byte(rc.config(rc.runs)), 0o600); err != nil {
		rc.t.Fatal(err)
	}
	rc.current = startCollector(rc.t, path, rc.env...)
}

// stop ends the current run with SIGTERM.
func (rc *receiverCollector) stop() {
	rc.t.Helper()
	rc.current.stop(rc.t, 30*time.Second)
}

// exited reports a collector that ended by itself (e.g. a config it refused).
func (rc *receiverCollector) exited() error {
	select {
	case err := <-rc.current.done:
		rc.current.done <- err
		return fmt.Errorf("the collector exited (%v):\n%s", err, tail(rc.current.output.String(), 3000))
	default:
		return nil
	}
}

// selfMetric sums the samples of one of the collector's own metrics (Prometheus text format;
// a counter may carry the _total suffix).
func (rc *receiverCollector) selfMetric(name string) (float64, error) {
	code, body, err := httpGet("http://" + rc.telemetry + "/metrics")
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("own metrics: status %d", code)
	}
	sum, found := 0.0, false
	for _, line := range strings.Split(body, "\n") {
		metric, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		base, _, _ := strings.Cut(metric, "{")
		if base != name && base != name+"_total" {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(strings.Fields(value)[0], "%g", &v); err != nil {
			return 0, fmt.Errorf("%s: %w", line, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return 0, fmt.Errorf("the collector reports no %s", name)
	}
	return sum, nil
}

// waitWhileRunning is waitFor that stops at once when the collector exits.
func (rc *receiverCollector) waitWhileRunning(within time.Duration, what string, check func() error) {
	rc.t.Helper()
	waitFor(rc.t, within, what, func() error {
		if err := rc.exited(); err != nil {
			rc.t.Fatalf("%s: %v", what, err)
		}
		err := check()
		var final finalError
		if errors.As(err, &final) {
			rc.t.Fatalf("%s: %v", what, err)
		}
		return err
	})
}

// finalError is a difference that waiting cannot remove (a record emitted twice or one that
// should not have been emitted): the wait stops at once.
type finalError struct{ error }

// outputLines returns the complete JSON lines the file exporter wrote in run n.
func outputLines(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' && len(lines) > 0 {
		lines = lines[:len(lines)-1] // the exporter is still writing the last one
	}
	return lines, sc.Err()
}

// readLogs decodes the file exporter's output of run n as OTLP/JSON logs.
func (rc *receiverCollector) readLogs(n int) ([]plog.Logs, error) {
	lines, err := outputLines(rc.output(n))
	if err != nil {
		return nil, err
	}
	var out []plog.Logs
	for i, line := range lines {
		if bytes.HasPrefix(line, []byte(`{"resourceMetrics"`)) {
			continue // the same exporter's metrics
		}
		var u plog.JSONUnmarshaler
		ld, err := u.UnmarshalLogs(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", rc.output(n), i+1, err)
		}
		if ld.LogRecordCount() > 0 {
			out = append(out, ld)
		}
	}
	return out, nil
}

// readMetrics decodes the file exporter's output of run n as OTLP/JSON metrics (lines that are
// logs are skipped).
func (rc *receiverCollector) readMetrics(n int) ([]pmetric.Metrics, error) {
	lines, err := outputLines(rc.output(n))
	if err != nil {
		return nil, err
	}
	var out []pmetric.Metrics
	for _, line := range lines {
		if !bytes.Contains(line, []byte(`"resourceMetrics"`)) {
			continue
		}
		var u pmetric.JSONUnmarshaler
		md, err := u.UnmarshalMetrics(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rc.output(n), err)
		}
		out = append(out, md)
	}
	return out, nil
}

// eachRecord calls fn for every log record of the batches, with its resource attributes.
func eachLogRecord(batches []plog.Logs, fn func(res map[string]any, lr plog.LogRecord)) {
	for _, ld := range batches {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			res := rl.Resource().Attributes().AsRaw()
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					fn(res, lrs.At(k))
				}
			}
		}
	}
}

// auditIDs counts the databricks.event_id of every audit record of run n and checks each
// record's schema basics on the way.
func (rc *receiverCollector) auditIDs(n int, source string) (map[string]int, error) {
	batches, err := rc.readLogs(n)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	var bad error
	eachLogRecord(batches, func(_ map[string]any, lr plog.LogRecord) {
		attrs := lr.Attributes()
		id, ok := attrs.Get(auditlog.AttrEventID)
		if !ok || id.Str() == "" {
			bad = fmt.Errorf("a record without %s: %v", auditlog.AttrEventID, attrs.AsRaw())
			return
		}
		if v, _ := attrs.Get(auditlog.AttrAuditSource); v.Str() != source {
			bad = fmt.Errorf("record %s: %s = %q, want %q", id.Str(), auditlog.AttrAuditSource, v.Str(), source)
		}
		if v, _ := attrs.Get("event.name"); v.Str() != "databricks.audit" {
			bad = fmt.Errorf("record %s: event.name = %q", id.Str(), v.Str())
		}
		if lr.Timestamp() == 0 {
			bad = fmt.Errorf("record %s has no Timestamp", id.Str())
		}
		ids[id.Str()]++
	})
	return ids, bad
}

// diffIDs describes how got differs from the set want: missing, unexpected and repeated ids.
func diffIDs(got map[string]int, want map[string]bool) error {
	var missing, extra, dup []string
	for id := range want {
		if got[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range got {
		if !want[id] {
			extra = append(extra, id)
		}
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s x%d", id, n))
		}
	}
	if len(missing)+len(extra)+len(dup) == 0 {
		return nil
	}
	err := fmt.Errorf("%d records for %d expected events: %d missing %s, %d unexpected %s, %d repeated %s",
		recordCount(got), len(want), len(missing), firstFew(missing), len(extra), firstFew(extra), len(dup), firstFew(dup))
	if len(extra)+len(dup) > 0 {
		return finalError{err}
	}
	return err
}

func recordCount(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

func firstFew(s []string) string {
	sort.Strings(s)
	if len(s) > 5 {
		s = append(s[:5:5], "...")
	}
	return "[" + strings.Join(s, " ") + "]"
}

func idsMinus(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		if !b[k] {
			out[k] = true
		}
	}
	return out
}
