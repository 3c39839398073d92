//go:build reliability

package reliability

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

// goodLine is a valid delivery line; n makes its request id (and so its event id) unique.
func goodLine(n int, at time.Time) string {
	return fmt.Sprintf(`{"version":"2.0","auditLevel":"WORKSPACE_LEVEL","timestamp":%d,"orgId":"4839201746501234","shardName":"oregon-prod-12","accountId":"0b6f3a7e-1c2d-4e5f-8a9b-112233445566","sourceIPAddress":"203.0.113.%d","userAgent":"Mozilla/5.0","sessionId":"s-%d","userIdentity":{"email":"alice@corp.example"},"serviceName":"unityCatalog","actionName":"getTable","requestId":"good-%d","requestParams":{"full_name_arg":"main.sales.orders"},"response":{"statusCode":200},"MAX_LOG_MESSAGE_LENGTH":16384}`,
		at.UnixMilli(), n%250+1, n, n)
}

// hostileLine is a crafted input and whether it is certainly malformed (must be rejected);
// the others may be kept by the defensive parser, but must be either emitted or rejected.
type hostileLine struct {
	name      string
	line      string
	malformed bool
}

func hostileLines(at time.Time) []hostileLine {
	ms := at.UnixMilli()
	base := func(requestParams string, extra string) string {
		return fmt.Sprintf(`{"version":"2.0","timestamp":%d,"serviceName":"accounts","actionName":"login","requestId":"hostile-%d","userIdentity":{"email":"bob@corp.example"},"requestParams":%s,"response":{"statusCode":200}%s}`,
			ms, len(requestParams)+len(extra), requestParams, extra)
	}
	deep := strings.Repeat(`{"a":`, 100000) + `1` + strings.Repeat(`}`, 100000)
	moderatelyDeep := strings.Repeat(`{"a":`, 200) + `"x"` + strings.Repeat(`}`, 200)
	return []hostileLine{
		{name: "10 MB line", line: base(`{"blob":"`+strings.Repeat("A", 10<<20)+`"}`, ""), malformed: true},
		{name: "deeply nested requestParams (100000)", line: base(deep, ""), malformed: true},
		{name: "nested requestParams (200)", line: base(moderatelyDeep, `,"x":1`)},
		{name: "invalid UTF-8 in strings", line: base(`{"path":"/Users/`+"\xff\xfe\xc3\x28"+`"}`, `,"userAgent":"`+"\xe2\x82"+`"`)},
		{name: "raw NUL bytes", line: "{\"version\":\"2.0\",\x00\"timestamp\":1}", malformed: true},
		{name: "escaped NUL in a string", line: base(`{"name":"a\u0000b"}`, `,"sessionId":"\u0000"`)},
		{name: "numbers where strings belong", line: fmt.Sprintf(`{"version":2,"timestamp":"%d","serviceName":123,"actionName":456,"requestId":789,"userIdentity":{"email":42},"sourceIPAddress":1234,"requestParams":{"id":12345678901234567890},"response":{"statusCode":"403"}}`, ms)},
		{name: "timestamp 1970", line: `{"version":"2.0","timestamp":0,"serviceName":"accounts","actionName":"login","requestId":"t1970","userIdentity":{"email":"c@corp.example"},"requestParams":{},"response":{"statusCode":200}}`},
		{name: "timestamp 2100", line: `{"version":"2.0","timestamp":4102444800000,"serviceName":"accounts","actionName":"login","requestId":"t2100","userIdentity":{"email":"c@corp.example"},"requestParams":{},"response":{"statusCode":200}}`},
		{name: "negative timestamp", line: `{"version":"2.0","timestamp":-62135596800000,"serviceName":"accounts","actionName":"login","requestId":"tneg","requestParams":{},"response":{"statusCode":200}}`},
		{name: "not JSON", line: `this is not json`, malformed: true},
		{name: "truncated object", line: `{"version":"2.0","timestamp":`, malformed: true},
		{name: "JSON array", line: `[1,2,3]`, malformed: true},
		{name: "null structs", line: fmt.Sprintf(`{"version":"2.0","timestamp":%d,"serviceName":"accounts","actionName":"logout","requestId":"nulls","userIdentity":null,"requestParams":null,"response":null}`, ms)},
		{name: "huge number", line: fmt.Sprintf(`{"version":"2.0","timestamp":%d,"serviceName":"a","actionName":"b","requestId":"bignum","response":{"statusCode":1e400}}`, ms)},
	}
}

// TestHostileInputThroughTheBinary delivers crafted lines between good ones and checks that
// the collector survives, every good record arrives, and every hostile line is either
// emitted or counted as rejected.
func TestHostileInputThroughTheBinary(t *testing.T) {
	requireComponents(t, "databricks_audit", "file", "file_storage")
	dir := t.TempDir()
	now := time.Now().UTC()
	deliveryDir := filepath.Join(dir, "audit")
	objDir := filepath.Join(deliveryDir, "workspaceId=4839201746501234", "date="+now.Format(time.DateOnly))
	mustf(t, os.MkdirAll(objDir, 0o700), "mkdir")

	hostile := hostileLines(now)
	var obj bytes.Buffer
	var good []string
	n := 0
	for _, h := range hostile {
		for i := 0; i < 3; i++ { // good records on both sides of every hostile one
			l := goodLine(n, now)
			good = append(good, l)
			obj.WriteString(l + "\n")
			n++
		}
		obj.WriteString(h.line + "\n")
	}
	for i := 0; i < 3; i++ {
		l := goodLine(n, now)
		good = append(good, l)
		obj.WriteString(l + "\n")
		n++
	}
	mustf(t, os.WriteFile(filepath.Join(objDir, "auditlogs_hostile.json"), obj.Bytes(), 0o600), "write object")

	wantGood := eventCounts{}
	p := auditlog.NewParser()
	lr := plog.NewLogRecord()
	for _, l := range good {
		lr.Attributes().Clear()
		_, err := p.ParseDeliveryLine([]byte(l), "4839201746501234", lr)
		mustf(t, err, "good line does not parse")
		v, _ := lr.Attributes().Get(auditlog.AttrEventID)
		wantGood[v.Str()]++
	}

	sinkPath := filepath.Join(dir, "sink.jsonl")
	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "collector.yaml", withFileStorage(fmt.Sprintf(`receivers:
  databricks_audit:
    source: delivery
    storage: file_storage
    delivery:
      url: file://%s
      poll_interval: 1s
exporters:
  file:
    path: %s
    rotation: {max_megabytes: 1024}
`, deliveryDir, sinkPath)+ports.serviceYAML("databricks_audit", "", "file"), filepath.Join(dir, "state")))
	c := startCollector(t, cfg)

	var r deliveryReport
	var got eventCounts
	waitFor(t, 60*time.Second, "every good record at the sink", func() error {
		if c.exited() {
			t.Fatalf("the collector exited on hostile input: %v", c.err)
		}
		got, _ = sinkEvents(t, sinkPath)
		if r = compareEvents(wantGood, got); r.lost > 0 {
			return fmt.Errorf("good records: %v", r)
		}
		return nil
	})
	var rejected float64
	waitFor(t, 20*time.Second, "the rejected counter", func() error {
		rejected = scrapeCounter(t, ports.telemetry, "otelcol_databricks_audit_records_rejected")
		emitted := got.total() - len(good)
		if int(rejected)+emitted < len(hostile) {
			got, _ = sinkEvents(t, sinkPath)
			return fmt.Errorf("rejected %v + emitted hostile %d < %d hostile lines", rejected, emitted, len(hostile))
		}
		return nil
	})
	if c.exited() {
		t.Fatalf("the collector exited on hostile input: %v", c.err)
	}
	c.stop(t, 30*time.Second)

	malformed := 0
	for _, h := range hostile {
		if h.malformed {
			malformed++
		}
	}
	emittedHostile := got.total() - len(good)
	t.Logf("RESULT hostile-input: %d good records all delivered; %d hostile lines: %d emitted, %.0f rejected (%d certainly malformed)",
		len(good), len(hostile), emittedHostile, rejected, malformed)
	if int(rejected) < malformed {
		t.Errorf("only %.0f lines counted as rejected, %d are certainly malformed", rejected, malformed)
	}
	if int(rejected)+emittedHostile != len(hostile) {
		t.Errorf("hostile lines unaccounted for: %d emitted + %.0f rejected != %d", emittedHostile, rejected, len(hostile))
	}
	lines := 0
	for _, l := range strings.Split(c.output.String(), "\n") {
		if strings.Contains(l, "auditlogs_hostile.json") && isProblemLine(l) {
			lines++
			t.Logf("rejection logged: %s", l[:min(len(l), 600)])
		}
	}
	if lines == 0 {
		t.Errorf("no warning names the object with rejected lines")
	}
}

// scrapeCounter sums every series of a counter on the collector's Prometheus self-telemetry
// endpoint (the name with or without the _total suffix).
func scrapeCounter(t *testing.T, addr, name string) float64 {
	t.Helper()
	code, body := get(t, "http://"+addr+"/metrics")
	if code != 200 {
		t.Fatalf("self-telemetry: status %d", code)
	}
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"_total") && !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}
