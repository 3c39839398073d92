//go:build bench

// Command harness runs the end-to-end benchmarks of BENCHMARKS.md against the built distribution:
//
//	ingest  delivery files → databricks_audit vs file_log + json_parser + transform, both → file
//	schema  both ingest pipelines once over a small data set, their records compared field by field
//	steady  10,000 audit records/s → databricks_audit → access_anomaly → otlp_grpc → local sink
//
// It is behind the `bench` build tag so that `go test ./...` and `go vet ./...` never build it:
//
//	go run -tags bench ./bench/harness -binary bin/otelcol-databricks ingest steady
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

type options struct {
	binary     string
	workDir    string
	runs       int
	records    int
	steadyRate int
	steadyFor  time.Duration
	steadyRuns int
	// steadyProcessor is the pipeline's one processor with its defaults ("" = none: the
	// receiver → exporter baseline).
	steadyProcessor string
	// steadyCompression overrides the otlp_grpc exporter's compression ("" = its default).
	steadyCompression string
	// steadyBodyFormat is the receiver's body_format ("" = its default, map).
	steadyBodyFormat string
	// ingestFileFormat is the file exporter's format in both ingestion pipelines.
	ingestFileFormat string
	resultsPath      string
	keepWorkDir      bool
	profileSecs      int
	maxIngestFor     time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", envOr("OTELCOL_BINARY", "bin/otelcol-databricks"), "collector binary to measure")
	flag.StringVar(&o.workDir, "work", filepath.Join(os.TempDir(), "otelcol-databricks-bench"), "scratch directory (generated data, outputs)")
	flag.IntVar(&o.runs, "runs", 3, "runs per pipeline (medians are reported)")
	flag.IntVar(&o.records, "records", 1_000_000, "ingest: approximate number of audit records to generate")
	flag.IntVar(&o.steadyRate, "steady-rate", 10_000, "steady: audit records per second")
	flag.StringVar(&o.steadyProcessor, "steady-processor", "access_anomaly", "steady: the processor between receiver and exporter, with its default config (empty: none)")
	flag.StringVar(&o.steadyCompression, "steady-compression", "", "steady: otlp_grpc compression (gzip, snappy, zstd, none; empty: the exporter's default)")
	flag.StringVar(&o.steadyBodyFormat, "steady-body-format", "", "steady: the audit receiver's body_format (map, string; empty: its default, map)")
	flag.StringVar(&o.ingestFileFormat, "ingest-file-format", "json", "ingest: the file exporter's format in both pipelines (json, proto)")
	flag.DurationVar(&o.steadyFor, "steady-duration", 60*time.Second, "steady: measured duration")
	flag.IntVar(&o.steadyRuns, "steady-runs", 3, "steady: runs, each with a fresh collector (median, min and max are reported)")
	flag.StringVar(&o.resultsPath, "results", "bench-results.json", "where to write the figures (JSON)")
	flag.BoolVar(&o.keepWorkDir, "keep", false, "keep the scratch directory")
	flag.IntVar(&o.profileSecs, "profile-seconds", 0, "if > 0, take a CPU profile of this many seconds from each pipeline's first run (pprof extension)")
	flag.DurationVar(&o.maxIngestFor, "ingest-timeout", 10*time.Minute, "ingest: give up on a run after this long")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: harness [flags] ingest|schema|steady...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	killRunningOnSignal()
	if err := run(o, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

func run(o options, benches []string) error {
	bin, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("collector binary: %w (build it with `make build` or pass -binary)", err)
	}
	if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return err
	}
	if !o.keepWorkDir {
		defer os.RemoveAll(o.workDir)
	}
	// Every run uses a private copy, so a rebuild of the binary during the benchmark cannot mix
	// two builds in one series.
	o.binary = filepath.Join(o.workDir, "otelcol-under-test")
	if err := copyFile(bin, o.binary); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.resultsPath), 0o755); err != nil {
		return err
	}
	res := results{Machine: describeMachine(), Binary: bin, Started: time.Now().UTC()}
	res.Machine.Collector = collectorVersion(bin)
	// The figures are written after every benchmark, so a failure late in a long run keeps
	// what was measured before it.
	write := func() error {
		res.Finished = time.Now().UTC()
		res.Machine.LoadAfter = loadAverage()
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.resultsPath, append(data, '\n'), 0o644)
	}
	for _, b := range benches {
		var err error
		switch b {
		case "ingest":
			res.Ingest, err = runIngest(o)
		case "schema":
			var cmp *schemaComparison
			if cmp, err = compareOnSample(o); err == nil {
				res.Ingest = &ingestResults{Schema: cmp}
			}
		case "steady":
			res.Steady, err = runSteady(o)
		default:
			err = fmt.Errorf("unknown benchmark %q (want ingest, schema or steady)", b)
		}
		if err != nil {
			if werr := write(); werr != nil {
				fmt.Fprintln(os.Stderr, "harness:", werr)
			}
			return fmt.Errorf("%s: %w", b, err)
		}
		if err := write(); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(o.resultsPath)
	if err != nil {
		return err
	}
	fmt.Print(string(data))
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
