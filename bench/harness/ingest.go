//go:build bench

package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// ingestPipeline is one of the two collector configurations compared on the same files.
type ingestPipeline struct {
	Name   string   `json:"name"`
	Config string   `json:"-"` // template: see pipelines.go
	Needs  []string `json:"-"`
}

type ingestRun struct {
	Wall      float64 `json:"wall_seconds"`
	CPU       float64 `json:"cpu_seconds"`
	PeakRSS   float64 `json:"peak_rss_mib"`
	Records   int64   `json:"records"`
	OutputMiB float64 `json:"output_mib"`
}

type ingestFigures struct {
	Pipeline            string      `json:"pipeline"`
	Runs                []ingestRun `json:"runs"`
	Wall                summary     `json:"wall_seconds"`
	CPU                 summary     `json:"cpu_seconds"`
	PeakRSS             summary     `json:"peak_rss_mib"`
	RecordsPerCPUSecond float64     `json:"records_per_cpu_second"`
	Profile             string      `json:"profile,omitempty"`
}

type ingestResults struct {
	// FileFormat is the file exporter's format in both pipelines.
	FileFormat string            `json:"file_exporter_format"`
	Records    int               `json:"records"`
	Objects    int               `json:"objects"`
	InputMiB   float64           `json:"input_mib"`
	Ours       *ingestFigures    `json:"databricks_audit,omitempty"`
	Contrib    *ingestFigures    `json:"contrib_filelog_transform,omitempty"`
	CPURatio   float64           `json:"cpu_ratio_contrib_over_ours,omitempty"`
	WallRatio  float64           `json:"wall_ratio_contrib_over_ours,omitempty"`
	RSSRatio   float64           `json:"peak_rss_ratio_contrib_over_ours,omitempty"`
	Schema     *schemaComparison `json:"schema_comparison,omitempty"`
	Skipped    []string          `json:"skipped,omitempty"`
}

func runIngest(o options) (*ingestResults, error) {
	dataDir := filepath.Join(o.workDir, "delivery")
	res := &ingestResults{FileFormat: o.ingestFileFormat}
	if res.FileFormat == "" {
		res.FileFormat = "json"
	}
	var err error
	if res.Records, res.Objects, res.InputMiB, err = generateDelivery(dataDir, o.records); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "ingest: %d records in %d objects (%.0f MiB) under %s\n", res.Records, res.Objects, res.InputMiB, dataDir)

	pipelines := []ingestPipeline{oursPipeline, contribPipeline}
	runnable := map[string]bool{}
	for _, p := range pipelines {
		ok := true
		for _, c := range p.Needs {
			has, err := hasComponent(o.binary, c)
			if err != nil {
				return nil, err
			}
			if !has {
				ok = false
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s: the binary has no %s component", p.Name, c))
			}
		}
		runnable[p.Name] = ok
	}
	figures := map[string]*ingestFigures{}
	// Runs alternate between the pipelines so that a change in the machine's load during the
	// benchmark affects both alike.
	for run := 0; run < o.runs; run++ {
		for _, p := range pipelines {
			if !runnable[p.Name] {
				continue
			}
			out := filepath.Join(o.workDir, p.Name+".out.json")
			prof := ""
			if run == 0 && o.profileSecs > 0 {
				prof = filepath.Join(filepath.Dir(o.resultsPath), p.Name+".cpu.pprof")
			}
			r, err := ingestOnce(o, p, o.ingestFileFormat, dataDir, out, int64(res.Records), prof)
			if err != nil {
				return nil, fmt.Errorf("%s run %d: %w", p.Name, run+1, err)
			}
			fmt.Fprintf(os.Stderr, "ingest: %s run %d: %.1fs wall, %.1f CPU-s, peak RSS %.0f MiB\n", p.Name, run+1, r.Wall, r.CPU, r.PeakRSS)
			f := figures[p.Name]
			if f == nil {
				f = &ingestFigures{Pipeline: p.Name}
				figures[p.Name] = f
			}
			if prof != "" {
				f.Profile = prof
			}
			f.Runs = append(f.Runs, r)
			_ = os.Remove(out)
		}
	}
	for _, f := range figures {
		var wall, cpu, rss []float64
		for _, r := range f.Runs {
			wall, cpu, rss = append(wall, r.Wall), append(cpu, r.CPU), append(rss, r.PeakRSS)
		}
		f.Wall, f.CPU, f.PeakRSS = summarize(wall), summarize(cpu), summarize(rss)
		if f.CPU.Median > 0 {
			f.RecordsPerCPUSecond = float64(res.Records) / f.CPU.Median
		}
	}
	res.Ours, res.Contrib = figures[oursPipeline.Name], figures[contribPipeline.Name]
	if res.Ours != nil && res.Contrib != nil {
		res.CPURatio = res.Contrib.CPU.Median / res.Ours.CPU.Median
		res.WallRatio = res.Contrib.Wall.Median / res.Ours.Wall.Median
		res.RSSRatio = res.Contrib.PeakRSS.Median / res.Ours.PeakRSS.Median
		cmp, err := compareOnSample(o)
		if err != nil {
			return nil, fmt.Errorf("schema comparison: %w", err)
		}
		res.Schema = cmp
	}
	return res, nil
}

// ingestOnce runs one pipeline over the delivery files until the file exporter has written
// every record, and measures the process.
func ingestOnce(o options, p ingestPipeline, fileFormat, dataDir, out string, want int64, profilePath string) (ingestRun, error) {
	_ = os.Remove(out)
	addrs, err := freeAddresses(2)
	if err != nil {
		return ingestRun{}, err
	}
	telemetry, pprofAddr := addrs[0], addrs[1]
	cfgPath := filepath.Join(o.workDir, p.Name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(p.Config, dataDir, out, telemetryYAML(telemetry), pprofAddr, fileExporterSettings(fileFormat), benchRetention)), 0o644); err != nil {
		return ingestRun{}, err
	}
	start := time.Now()
	c, err := startCollector(o.binary, cfgPath, filepath.Join(o.workDir, p.Name+".log"), telemetry)
	if err != nil {
		return ingestRun{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.stop()
		}
	}()
	if err := c.waitForTelemetry(30 * time.Second); err != nil {
		return ingestRun{}, err
	}
	var profDone chan error
	if profilePath != "" {
		profDone = make(chan error, 1)
		go func() {
			profDone <- fetchPprof(context.Background(), pprofAddr, fmt.Sprintf("profile?seconds=%d", o.profileSecs), profilePath)
		}()
	}
	var sent float64
	var lastProgress = time.Now()
	var lastSent float64
	for {
		if done, err := c.exited(); done {
			return ingestRun{}, fmt.Errorf("collector exited: %v (see %s)", err, c.log.Name())
		}
		sent, err = c.metricSum("otelcol_exporter_sent_log_records")
		if err == nil && int64(sent) >= want {
			break
		}
		if sent > lastSent {
			lastSent, lastProgress = sent, time.Now()
		}
		if time.Since(lastProgress) > 60*time.Second || time.Since(start) > o.maxIngestFor {
			failed, _ := c.metricSum("otelcol_exporter_send_failed_log_records")
			return ingestRun{}, fmt.Errorf("stuck at %.0f of %d records sent (%.0f failed) after %v (see %s)", sent, want, failed, time.Since(start).Round(time.Second), c.log.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	wall := time.Since(start)
	ps, err := sampleProcess(c.pid())
	if err != nil {
		return ingestRun{}, err
	}
	if profDone != nil {
		if err := <-profDone; err != nil {
			fmt.Fprintf(os.Stderr, "ingest: %s: profile: %v\n", p.Name, err)
		}
	}
	stopped = true
	if err := c.stop(); err != nil {
		return ingestRun{}, err
	}
	var outSize int64
	if st, err := os.Stat(out); err == nil {
		outSize = st.Size()
	}
	return ingestRun{Wall: seconds(wall), CPU: seconds(ps.CPU), PeakRSS: mib(ps.PeakRSS), Records: int64(sent), OutputMiB: mib(outSize)}, nil
}

// generateDelivery writes about n audit records as delivery files with the simulator's bench
// scenario (1,000 users; the rate is raised to reach n over its two hours). The timeline ends
// now, so the receiver's retention window and date-partition pruning keep every object.
func generateDelivery(dir string, n int) (records, objects int, sizeMiB float64, err error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, 0, 0, err
	}
	world, err := buildWorld(n)
	if err != nil {
		return 0, 0, 0, err
	}
	store, err := simulator.OpenStore(context.Background(), dir)
	if err != nil {
		return 0, 0, 0, err
	}
	if _, err := simulator.NewDeliverer(world, store).Deliver(context.Background(), world.End.Add(24*time.Hour)); err != nil {
		return 0, 0, 0, err
	}
	var size int64
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		lines, n, err := countLines(path)
		records += lines
		size += n
		objects++
		return err
	})
	return records, objects, mib(size), err
}

func countLines(path string) (lines int, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		size += int64(len(sc.Bytes())) + 1
		if len(strings.TrimSpace(sc.Text())) > 0 {
			lines++
		}
	}
	return lines, size, sc.Err()
}

// repoRoot finds the repository root (the directory with go.mod) from the working directory.
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "configs", "sim", "bench.yaml")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// buildWorld generates about n audit events with the simulator's bench scenario (1,000 users;
// the benign rate is raised to reach n over its two hours), ending now.
func buildWorld(n int) (*simulator.World, error) {
	sc, err := simulator.LoadScenario(filepath.Join(repoRoot(), "configs", "sim", "bench.yaml"))
	if err != nil {
		return nil, err
	}
	// The scenario's own events (service principals, System-User, cluster and job events) come
	// on top of the benign user rate; 1.013 was measured for this scenario at this size.
	rate := 1.013 * float64(n) / time.Duration(sc.Duration).Seconds()
	// The scenario's own fixed start (a Monday morning, inside the processor's default business
	// hours), not one relative to now: every run, whatever the time of day, gets the same records,
	// so its figures compare with any other run's.
	return simulator.Build(sc, simulator.Options{Rate: rate})
}

// schemaSampleRecords is the size of the data set both pipelines run once more on, untimed,
// for the field-by-field comparison of their records.
const schemaSampleRecords = 20_000

// compareOnSample runs both pipelines over a small delivery data set and compares every
// record they write.
func compareOnSample(o options) (*schemaComparison, error) {
	dir := filepath.Join(o.workDir, "delivery-sample")
	records, _, _, err := generateDelivery(dir, schemaSampleRecords)
	if err != nil {
		return nil, err
	}
	outs := map[string]string{}
	for _, p := range []ingestPipeline{oursPipeline, contribPipeline} {
		out := filepath.Join(o.workDir, p.Name+".sample.json")
		// compareSchemas reads the JSON form, whatever -ingest-file-format says.
		if _, err := ingestOnce(o, p, "json", dir, out, int64(records), ""); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		outs[p.Name] = out
	}
	return compareSchemas(outs[oursPipeline.Name], outs[contribPipeline.Name])
}
