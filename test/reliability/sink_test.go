//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

// eventCounts counts occurrences of each audit event id.
type eventCounts map[string]int

func (c eventCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// sinkEvents reads a file exporter's JSON output (one ExportLogsServiceRequest per line) and
// counts the databricks.event_id of every record. A line cut off by a SIGKILL is counted in
// torn, not parsed.
func sinkEvents(t *testing.T, path string) (got eventCounts, torn int) {
	t.Helper()
	got = eventCounts{}
	torn = forEachSinkRecord(t, path, func(lr plog.LogRecord) {
		if v, ok := lr.Attributes().Get(auditlog.AttrEventID); ok {
			got[v.Str()]++
		}
	})
	return got, torn
}

// forEachSinkRecord calls f with every record of a file exporter's JSON output (none when the
// file does not exist yet) and returns the number of lines that do not parse (cut off by a
// SIGKILL, or being written).
func forEachSinkRecord(t *testing.T, path string, f func(plog.LogRecord)) (torn int) {
	t.Helper()
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	mustf(t, err, "open sink")
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 512<<20)
	var u plog.JSONUnmarshaler
	for sc.Scan() {
		ld, err := u.UnmarshalLogs(sc.Bytes())
		if err != nil {
			torn++
			continue
		}
		forEachRecord(ld, f)
	}
	mustf(t, sc.Err(), "scan sink")
	return torn
}

func forEachRecord(ld plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(lrs.At(k))
			}
		}
	}
}

// deliveredEvents is the ground truth of a delivery directory: the event id of every line
// the simulator wrote, computed with the receiver's own normaliser.
func deliveredEvents(t *testing.T, dir string) eventCounts {
	t.Helper()
	want := eventCounts{}
	p := auditlog.NewParser()
	lr := plog.NewLogRecord()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		workspaceID := ""
		for _, part := range strings.Split(filepath.ToSlash(path), "/") {
			if v, ok := strings.CutPrefix(part, "workspaceId="); ok {
				workspaceID = v
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			lr.Attributes().Clear()
			if _, err := p.ParseDeliveryLine(line, workspaceID, lr); err != nil {
				return fmt.Errorf("%s: simulator line does not parse: %w", path, err)
			}
			v, _ := lr.Attributes().Get(auditlog.AttrEventID)
			want[v.Str()]++
		}
		return nil
	})
	mustf(t, err, "read delivery files")
	return want
}

// tableEvents is the ground truth of the simulator's system.access.audit between from and to.
func tableEvents(t *testing.T, sim *simulator, warehouseID string, from, to time.Time) eventCounts {
	t.Helper()
	cfg := databricks.NewDefaultClientConfig()
	cfg.Endpoint = sim.url
	cfg.Token = configopaque.String(sim.token)
	cfg.MaxRequestsPerSecond = 100
	c, err := databricks.New(cfg, nil)
	mustf(t, err, "client")
	defer c.Close()
	want := eventCounts{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = c.QueryAudit(ctx, databricks.AuditQuery{WarehouseID: warehouseID, From: from, To: to},
		func(rows []databricks.AuditRow, bad []databricks.RowError) error {
			if len(bad) > 0 {
				return fmt.Errorf("%d undecodable rows", len(bad))
			}
			for i := range rows {
				want[rows[i].EventID]++
			}
			return nil
		})
	mustf(t, err, "query the simulator's audit table")
	return want
}

// deliveryReport compares what arrived with what was produced.
type deliveryReport struct {
	produced, delivered, lost, duplicated int
	lostIDs                               []string
}

func compareEvents(want, got eventCounts) deliveryReport {
	r := deliveryReport{produced: want.total(), delivered: got.total()}
	for id, n := range want {
		if g := got[id]; g < n {
			r.lost += n - g
			r.lostIDs = append(r.lostIDs, id)
		} else {
			r.duplicated += g - n
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			r.duplicated += g // not produced at all: counts against the sink
		}
	}
	sort.Strings(r.lostIDs)
	return r
}

func (r deliveryReport) String() string {
	return fmt.Sprintf("produced %d, delivered %d, lost %d, duplicated %d", r.produced, r.delivered, r.lost, r.duplicated)
}
