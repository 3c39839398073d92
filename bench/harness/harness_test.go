//go:build bench

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want summary
	}{
		{"empty", nil, summary{}},
		{"one", []float64{4}, summary{Median: 4, Min: 4, Max: 4}},
		{"odd, unsorted", []float64{9, 1, 5}, summary{Median: 5, Min: 1, Max: 9}},
		{"even", []float64{4, 1, 3, 10}, summary{Median: 3.5, Min: 1, Max: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.in); got != tc.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSumFamily(t *testing.T) {
	const exposition = `# HELP otelcol_exporter_sent_log_records Number of log records sent.
# TYPE otelcol_exporter_sent_log_records counter
otelcol_exporter_sent_log_records{exporter="file"} 1200
otelcol_exporter_sent_log_records{exporter="otlp_grpc",note="a } in a label"} 34
otelcol_exporter_sent_log_records_failed{exporter="file"} 7
otelcol_process_uptime 7.5
otelcol_receiver_accepted_log_records_total{receiver="file_log"} 99
`
	for _, tc := range []struct {
		family string
		want   float64
	}{
		{"otelcol_exporter_sent_log_records", 1234},
		{"otelcol_process_uptime", 7.5},
		{"otelcol_receiver_accepted_log_records", 99},
		{"otelcol_missing", 0},
	} {
		got, err := sumFamily(strings.NewReader(exposition), tc.family)
		if err != nil {
			t.Fatalf("%s: %v", tc.family, err)
		}
		if got != tc.want {
			t.Errorf("sumFamily(%s) = %v, want %v", tc.family, got, tc.want)
		}
	}
	if _, err := sumFamily(strings.NewReader("otelcol_x{a=\"b\"} notanumber\n"), "otelcol_x"); err == nil {
		t.Error("a malformed sample must be an error, not a silent zero")
	}
}

func TestSampleProcessSelf(t *testing.T) {
	// Burn some CPU so utime is visibly above zero.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	s, err := sampleProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU <= 0 || s.RSS <= 0 || s.PeakRSS < s.RSS {
		t.Errorf("implausible sample of this process: %+v", s)
	}
}

func TestParseKiB(t *testing.T) {
	for in, want := range map[string]int64{"  123 kB": 123 * 1024, "0 kB": 0, "": 0} {
		if got := parseKiB(in); got != want {
			t.Errorf("parseKiB(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestFeederPublishesOnSchedule(t *testing.T) {
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	var events []simulator.AuditEvent
	for i := 0; i < 30; i++ {
		ws := "111"
		if i%3 == 0 {
			ws = "0" // account-level events go to their own partition
		}
		events = append(events, simulator.AuditEvent{Time: start.Add(time.Duration(i) * time.Second), WorkspaceID: ws,
			ServiceName: "unityCatalog", ActionName: "getTable", Email: "a@example.com", StatusCode: 200})
	}
	dir := t.TempDir()
	f := &deliveryFeeder{dir: filepath.Join(dir, "delivery"), staging: filepath.Join(dir, "staging")}
	for _, d := range []string{f.dir, f.staging} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.stage(events, 10, 3); err != nil {
		t.Fatal(err)
	}
	if err := f.stage(events, 10, 4); err == nil {
		t.Error("staging more events than generated must fail")
	}
	for _, step := range []struct {
		elapsed time.Duration
		fed     int64
	}{
		{0, 10},                      // second 0 is due at once
		{500 * time.Millisecond, 10}, // nothing new within the second
		{2 * time.Second, 30},        // a late tick catches up
		{10 * time.Second, 30},       // nothing beyond what was staged
	} {
		if err := f.feedDue(step.elapsed); err != nil {
			t.Fatal(err)
		}
		if f.fed != step.fed {
			t.Errorf("after %v: fed %d, want %d", step.elapsed, f.fed, step.fed)
		}
	}
	var lines int
	for _, part := range []string{"workspaceId=111", "workspaceId=0"} {
		files, err := filepath.Glob(filepath.Join(f.dir, part, "date=2026-01-05", "auditlogs_*.json"))
		if err != nil || len(files) != 3 {
			t.Fatalf("%s: %d objects (%v), want one per second", part, len(files), err)
		}
		for _, file := range files {
			n, _, err := countLines(file)
			if err != nil {
				t.Fatal(err)
			}
			lines += n
		}
	}
	if lines != 30 {
		t.Errorf("%d lines delivered, want 30", lines)
	}
}

// TestIngestPipelinesShareTheFileFormat: both pipelines' file exporters get the same format,
// and the rendered configs differ from the JSON ones only by it.
func TestIngestPipelinesShareTheFileFormat(t *testing.T) {
	render := func(p ingestPipeline, format string) string {
		return fmt.Sprintf(p.Config, "/data", "/out.json", "", "localhost:1", fileExporterSettings(format), benchRetention)
	}
	for _, p := range []ingestPipeline{oursPipeline, contribPipeline} {
		asJSON, asProto := render(p, "json"), render(p, "proto")
		if strings.Contains(asJSON, "format:") || strings.Contains(asJSON, "%!") {
			t.Errorf("%s with json:\n%s", p.Name, asJSON)
		}
		want := "  file:\n    path: /out.json\n    format: proto\nservice:"
		if !strings.Contains(asProto, want) {
			t.Errorf("%s with proto lacks %q:\n%s", p.Name, want, asProto)
		}
		if got := strings.Replace(asProto, "    format: proto\n", "", 1); got != asJSON {
			t.Errorf("%s: proto config differs from json by more than the format", p.Name)
		}
	}
}

// TestSinkUnderstandsEveryCompression: the sink counts the records of each compression the
// exporter can be set to (a sink that rejected snappy and zstd would report 0 records/s).
func TestSinkUnderstandsEveryCompression(t *testing.T) {
	sink, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer sink.stop()
	conn, err := grpc.NewClient(sink.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := plogotlp.NewGRPCClient(conn)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("audit ", 100))
	for i, c := range []string{"gzip", "snappy", "zstd"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := client.Export(ctx, plogotlp.NewExportRequestFromLogs(ld), grpc.UseCompressor(c))
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if got := sink.records.Load(); got != int64(i+1) {
			t.Fatalf("after %s: sink counted %d records, want %d", c, got, i+1)
		}
	}
}

// benchstat pairs lines by name: every variant needs its own, and one variant measured with two
// binaries the same one.
func TestSteadyBenchNameIdentifiesTheVariant(t *testing.T) {
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{steadyRate: 10_000, steadyProcessor: "access_anomaly"}, "BenchmarkSteady/rate=10000/processor=access_anomaly/compression=default"},
		{options{steadyRate: 10_000, steadyProcessor: "access_anomaly", steadyCompression: "none"}, "BenchmarkSteady/rate=10000/processor=access_anomaly/compression=none"},
		{options{steadyRate: 2_000, steadyCompression: "zstd"}, "BenchmarkSteady/rate=2000/processor=none/compression=zstd"},
		{options{steadyRate: 10_000, steadyProcessor: "access_anomaly", steadyCompression: "none", steadyBodyFormat: "string"}, "BenchmarkSteady/rate=10000/processor=access_anomaly/compression=none/body=string"},
	} {
		if got := steadyBenchName(tc.o); got != tc.want {
			t.Errorf("steadyBenchName(%+v) = %q, want %q", tc.o, got, tc.want)
		}
	}
}

// Older binaries reject an unknown key, so the defaults must not be written.
func TestSteadyCollectorConfigWritesOnlyWhatIsSet(t *testing.T) {
	plain := steadyCollectorConfig(options{}, "/d", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	for _, key := range []string{"body_format", "compression", "access_anomaly"} {
		if strings.Contains(plain, key) {
			t.Errorf("default config sets %s:\n%s", key, plain)
		}
	}
	set := steadyCollectorConfig(options{steadyProcessor: "access_anomaly", steadyCompression: "none", steadyBodyFormat: "string"},
		"/d", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	for _, want := range []string{"    body_format: string\n", "    compression: none\n", "processors: [access_anomaly]", "url: file:///d"} {
		if !strings.Contains(set, want) {
			t.Errorf("config lacks %q:\n%s", want, set)
		}
	}
}
