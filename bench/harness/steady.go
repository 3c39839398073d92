//go:build bench

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// steadyWarmup is fed before measuring, so that start-up, first allocations and the
// processor's first state are not in the steady-state figures.
const steadyWarmup = 10 * time.Second

// steadyRun is one measured window of the steady load, with a fresh collector.
type steadyRun struct {
	Seconds        float64 `json:"measured_seconds"`
	Fed            int64   `json:"records_fed"`
	Delivered      int64   `json:"records_at_sink"`
	Findings       int64   `json:"findings_at_sink"`
	CPUPercent     float64 `json:"cpu_percent_of_one_core"`
	RSSMax         float64 `json:"rss_max_mib"`
	RSSEnd         float64 `json:"rss_end_mib"`
	RSSAnonMax     float64 `json:"rss_anon_max_mib"` // heap and stacks, without the mapped binary
	RSSAtStart     float64 `json:"rss_at_window_start_mib"`
	RSSAnonAtStart float64 `json:"rss_anon_at_window_start_mib"`
	// RSSFileMax is the file-backed part of RSS (the binary's mapped pages), at the sample where
	// RSS was highest.
	RSSFileMax     float64 `json:"rss_file_at_rss_max_mib"`
	RSSFileAtStart float64 `json:"rss_file_at_window_start_mib"`
	PeakRSS        float64 `json:"peak_rss_mib"` // VmHWM over the whole run, warm-up included
	SinkRate       float64 `json:"sink_records_per_second"`
	BacklogAtEnd   int64   `json:"backlog_at_end"`
	FedRate        float64 `json:"fed_records_per_second"`
	LoadBefore     string  `json:"load_average_before"`
	Profile        string  `json:"profile,omitempty"`
	HeapProfile    string  `json:"heap_profile,omitempty"`
}

type steadyResults struct {
	Processors  string      `json:"processors"`
	Compression string      `json:"otlp_compression"`
	BodyFormat  string      `json:"body_format"`
	Rate        int         `json:"rate_records_per_second"`
	Runs        []steadyRun `json:"runs"`
	CPUPercent  summary     `json:"cpu_percent_of_one_core"`
	RSSMax      summary     `json:"rss_max_mib"`
	RSSAnonMax  summary     `json:"rss_anon_max_mib"`
	RSSFileMax  summary     `json:"rss_file_at_rss_max_mib"`
	SinkRate    summary     `json:"sink_records_per_second"`
	// BenchFile holds one line per run in Go's benchmark format, for benchstat.
	BenchFile string `json:"benchstat_file,omitempty"`
	Skipped   string `json:"skipped,omitempty"`
}

const steadyConfig = `extensions:
  pprof:
    endpoint: %[4]s
receivers:
  databricks_audit:
    source: delivery
    delivery:
      url: file://%[1]s
      poll_interval: 1s
      retention: %[8]s
%[9]s%[5]sexporters:
  otlp_grpc:
    endpoint: %[2]s
    tls:
      insecure: true
%[7]s
service:
  extensions: [pprof]
%[3]s  pipelines:
    logs:
      receivers: [databricks_audit]
      processors: [%[6]s]
      exporters: [otlp_grpc]
`

// steadyCollectorConfig is the collector configuration of one steady run, for the variant o
// describes. Only a non-default body_format is written, so that binaries older than the key
// still run.
func steadyCollectorConfig(o options, dataDir, sinkAddr, telemetry, pprofAddr string) string {
	var processorsYAML, compressionYAML, bodyFormatYAML string
	if o.steadyProcessor != "" {
		processorsYAML = "processors:\n  " + o.steadyProcessor + ": {}\n"
	}
	if o.steadyCompression != "" {
		compressionYAML = "    compression: " + o.steadyCompression + "\n"
	}
	if o.steadyBodyFormat != "" {
		bodyFormatYAML = "    body_format: " + o.steadyBodyFormat + "\n"
	}
	return fmt.Sprintf(steadyConfig, dataDir, sinkAddr, telemetryYAML(telemetry), pprofAddr,
		processorsYAML, o.steadyProcessor, compressionYAML, benchRetention, bodyFormatYAML)
}

// runSteady feeds delivery objects at a fixed rate (one object per workspace partition per
// second) to receiver → access_anomaly (built-in pack) → otlp_grpc → local sink, and measures
// the collector's CPU and RSS over the measured window, o.steadyRuns times with a fresh
// collector and the same records.
func runSteady(o options) (*steadyResults, error) {
	res := &steadyResults{Rate: o.steadyRate}
	needs := []string{"databricks_audit", "otlp_grpc", "pprof"}
	if o.steadyProcessor != "" {
		needs = append(needs, o.steadyProcessor)
	}
	res.Processors = o.steadyProcessor
	res.BodyFormat = "map (default)"
	if o.steadyBodyFormat != "" {
		res.BodyFormat = o.steadyBodyFormat
	}
	// The exporter's default compression (gzip) unless -steady-compression says otherwise.
	res.Compression = "gzip (default)"
	if o.steadyCompression != "" {
		res.Compression = o.steadyCompression
	}
	for _, c := range needs {
		has, err := hasComponent(o.binary, c)
		if err != nil {
			return nil, err
		}
		if !has {
			res.Skipped = "the binary has no " + c + " component"
			fmt.Fprintf(os.Stderr, "steady: skipped: %s\n", res.Skipped)
			return res, nil
		}
	}
	need := int(float64(o.steadyRate) * (steadyWarmup + o.steadyFor + 5*time.Second).Seconds())
	world, err := buildWorld(need + need/20) // the simulator's count is approximate
	if err != nil {
		return nil, err
	}
	if len(world.Events) < need {
		return nil, fmt.Errorf("generated %d events, need %d", len(world.Events), need)
	}
	var bench strings.Builder
	for i := 0; i < max(o.steadyRuns, 1); i++ {
		r, err := steadyOnce(o, world.Events, i == 0 && o.profileSecs > 0)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		fmt.Fprintf(os.Stderr, "steady: run %d: %.1f%% of one core, RSS max %.0f MiB (file-backed %.0f MiB; anonymous max %.0f MiB), %.0f records/s at the sink, %d findings (load before: %s)\n",
			i+1, r.CPUPercent, r.RSSMax, r.RSSFileMax, r.RSSAnonMax, r.SinkRate, r.Findings, r.LoadBefore)
		res.Runs = append(res.Runs, *r)
		fmt.Fprintf(&bench, "%s 1 %.2f %%cpu-of-core %.1f rss-max-MiB %.1f rss-anon-max-MiB %.0f records/s\n",
			steadyBenchName(o), r.CPUPercent, r.RSSMax, r.RSSAnonMax, r.SinkRate)
	}
	var cpu, rss, anon, file, rate []float64
	for _, r := range res.Runs {
		cpu, rss, anon = append(cpu, r.CPUPercent), append(rss, r.RSSMax), append(anon, r.RSSAnonMax)
		file, rate = append(file, r.RSSFileMax), append(rate, r.SinkRate)
	}
	res.CPUPercent, res.RSSMax, res.RSSAnonMax = summarize(cpu), summarize(rss), summarize(anon)
	res.RSSFileMax, res.SinkRate = summarize(file), summarize(rate)
	res.BenchFile = filepath.Join(filepath.Dir(o.resultsPath), steadyProfileName(o)+".bench.txt")
	if err := os.WriteFile(res.BenchFile, []byte(bench.String()), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "steady: %d runs: CPU %% of one core median %.1f (min %.1f, max %.1f), RSS max median %.0f MiB (min %.0f, max %.0f; anonymous median %.0f)\n",
		len(res.Runs), res.CPUPercent.Median, res.CPUPercent.Min, res.CPUPercent.Max,
		res.RSSMax.Median, res.RSSMax.Min, res.RSSMax.Max, res.RSSAnonMax.Median)
	return res, nil
}

// steadyOnce stages the records, starts a collector and the sink, feeds the warm-up and then
// measures one window.
func steadyOnce(o options, events []simulator.AuditEvent, profile bool) (*steadyRun, error) {
	res := &steadyRun{LoadBefore: loadAverage()}
	dataDir := filepath.Join(o.workDir, "steady-delivery")
	_ = os.RemoveAll(dataDir)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	seconds := int((steadyWarmup + o.steadyFor).Seconds()) + 1
	feeder := &deliveryFeeder{dir: dataDir, staging: filepath.Join(o.workDir, "steady-staging")}
	_ = os.RemoveAll(feeder.staging)
	if err := os.MkdirAll(feeder.staging, 0o755); err != nil {
		return nil, err
	}
	if err := feeder.stage(events, o.steadyRate, seconds); err != nil {
		return nil, err
	}
	sink, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sink.stop()
	addrs, err := freeAddresses(2)
	if err != nil {
		return nil, err
	}
	telemetry, pprofAddr := addrs[0], addrs[1]
	cfgPath := filepath.Join(o.workDir, "steady.yaml")
	cfg := steadyCollectorConfig(o, dataDir, sink.addr, telemetry, pprofAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	c, err := startCollector(o.binary, cfgPath, filepath.Join(o.workDir, "steady.log"), telemetry)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.stop() }()
	if err := c.waitForTelemetry(30 * time.Second); err != nil {
		return nil, err
	}

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	feedStart := time.Now()
	feedUntil := func(until time.Duration) error {
		for time.Since(feedStart) < until {
			if err := feeder.feedDue(time.Since(feedStart)); err != nil {
				return err
			}
			if done, err := c.exited(); done {
				return fmt.Errorf("collector exited: %v (see %s)", err, c.log.Name())
			}
			<-tick.C
		}
		return nil
	}
	if err := feedUntil(steadyWarmup); err != nil {
		return nil, err
	}
	start, err := sampleProcess(c.pid())
	if err != nil {
		return nil, err
	}
	startSink, startFed, t0 := sink.records.Load(), feeder.fed, time.Now()
	var profDone chan error
	if profile {
		res.Profile = filepath.Join(filepath.Dir(o.resultsPath), steadyProfileName(o)+".cpu.pprof")
		profDone = make(chan error, 1)
		go func() {
			profDone <- fetchPprof(context.Background(), pprofAddr, fmt.Sprintf("profile?seconds=%d", o.profileSecs), res.Profile)
		}()
	}
	var rssMax, anonMax, fileAtMax int64
	for sec := 1; sec <= int(o.steadyFor/time.Second); sec++ {
		if err := feedUntil(steadyWarmup + time.Duration(sec)*time.Second); err != nil {
			return nil, err
		}
		if s, err := sampleProcess(c.pid()); err == nil {
			if s.RSS > rssMax {
				rssMax, fileAtMax = s.RSS, s.RSSFile
			}
			anonMax = max(anonMax, s.RSSAnon)
		}
	}
	end, err := sampleProcess(c.pid())
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(t0)
	res.Seconds = elapsed.Seconds()
	res.Fed = feeder.fed
	res.Delivered = sink.records.Load()
	res.Findings = sink.findings.Load()
	res.CPUPercent = 100 * (end.CPU - start.CPU).Seconds() / elapsed.Seconds()
	res.RSSMax, res.RSSEnd, res.PeakRSS = mib(rssMax), mib(end.RSS), mib(end.PeakRSS)
	res.RSSAnonMax, res.RSSAtStart, res.RSSAnonAtStart = mib(anonMax), mib(start.RSS), mib(start.RSSAnon)
	res.RSSFileMax, res.RSSFileAtStart = mib(fileAtMax), mib(start.RSSFile)
	res.SinkRate = float64(res.Delivered-startSink) / elapsed.Seconds()
	// The sink also receives findings: the backlog counts audit records only approximately.
	res.BacklogAtEnd = res.Fed - (res.Delivered - res.Findings)
	res.FedRate = float64(feeder.fed-startFed) / elapsed.Seconds()
	if profDone != nil {
		if err := <-profDone; err != nil {
			fmt.Fprintf(os.Stderr, "steady: profile: %v\n", err)
		}
		// The heap at the end of the window: what the RSS is made of.
		res.HeapProfile = filepath.Join(filepath.Dir(o.resultsPath), steadyProfileName(o)+".heap.pprof")
		if err := fetchPprof(context.Background(), pprofAddr, "heap", res.HeapProfile); err != nil {
			fmt.Fprintf(os.Stderr, "steady: heap profile: %v\n", err)
		}
	}
	return res, nil
}

// steadyBenchName names a steady variant in Go's benchmark format, so that benchstat compares
// like with like (e.g. the same variant measured with two binaries).
func steadyBenchName(o options) string {
	processor := o.steadyProcessor
	if processor == "" {
		processor = "none"
	}
	compression := o.steadyCompression
	if compression == "" {
		compression = "default"
	}
	name := fmt.Sprintf("BenchmarkSteady/rate=%d/processor=%s/compression=%s", o.steadyRate, processor, compression)
	if o.steadyBodyFormat != "" { // named only when set, so that earlier results keep their names
		name += "/body=" + o.steadyBodyFormat
	}
	return name
}

// steadyProfileName names the profiles of a steady run after its variant, so that variants
// written next to each other keep their own.
func steadyProfileName(o options) string {
	name := "steady"
	if o.steadyProcessor == "" {
		name += "-noprocessor"
	}
	if o.steadyCompression != "" {
		name += "-" + o.steadyCompression
	}
	if o.steadyBodyFormat != "" {
		name += "-body-" + o.steadyBodyFormat
	}
	return name
}

// deliveryFeeder stages one second's worth of delivery objects per file set before the
// collector starts, then moves them into the delivery directory on schedule: a rename costs
// the harness next to no CPU, so the feeding does not compete with the collector on a
// loaded machine, and every object appears complete.
type deliveryFeeder struct {
	dir, staging string
	seconds      [][]stagedObject
	next         int
	fed          int64
}

type stagedObject struct {
	staged, dst string
	records     int
}

// stage renders the events, in time order, as n per second for the given number of seconds:
// one object per workspace partition per second.
func (f *deliveryFeeder) stage(events []simulator.AuditEvent, perSecond, seconds int) error {
	if perSecond*seconds > len(events) {
		return fmt.Errorf("need %d events, generated %d", perSecond*seconds, len(events))
	}
	seq := 0
	for sec := 0; sec < seconds; sec++ {
		parts := map[string]*bytes.Buffer{}
		counts := map[string]int{}
		var keys []string
		for _, e := range events[sec*perSecond : (sec+1)*perSecond] {
			key := fmt.Sprintf("workspaceId=%s/date=%s", e.WorkspaceID, e.Time.UTC().Format(time.DateOnly))
			b := parts[key]
			if b == nil {
				b = &bytes.Buffer{}
				parts[key] = b
				keys = append(keys, key)
			}
			b.Write(e.DeliveryLine())
			b.WriteByte('\n')
			counts[key]++
		}
		var objs []stagedObject
		for _, key := range keys {
			seq++
			name := fmt.Sprintf("auditlogs_steady%06d.json", seq)
			staged := filepath.Join(f.staging, name)
			if err := os.WriteFile(staged, parts[key].Bytes(), 0o644); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(f.dir, key), 0o755); err != nil {
				return err
			}
			objs = append(objs, stagedObject{staged: staged, dst: filepath.Join(f.dir, key, name), records: counts[key]})
		}
		f.seconds = append(f.seconds, objs)
	}
	return nil
}

// feedDue publishes every staged second that is due by elapsed time since the start, so a
// late tick is caught up and the average rate holds.
func (f *deliveryFeeder) feedDue(elapsed time.Duration) error {
	for f.next < len(f.seconds) && time.Duration(f.next)*time.Second <= elapsed {
		for _, o := range f.seconds[f.next] {
			if err := os.Rename(o.staged, o.dst); err != nil {
				return err
			}
			f.fed += int64(o.records)
		}
		f.next++
	}
	return nil
}
