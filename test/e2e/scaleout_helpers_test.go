//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	sim "github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// The scale-out tests run the shipped configs/scale-out/*.yaml: one agent (tier 1) in front of
// several detectors (tier 2), all on loopback, fed with the simulator's `attacks` scenario as
// delivery files. Each detector writes what it processed with its file exporter, so a test sees
// which instance handled which identity.

const scaleOutDir = "configs/scale-out"

// attacksFixture is the `attacks` world shared by the scale-out tests, and the findings of one
// collector running everything on it (the reference every topology is compared with). The
// world's timeline ends at the wall clock of the first test that needs it.
var attacksFixture struct {
	once     sync.Once
	world    *sim.World
	baseline *sinkContents
	elapsed  time.Duration
	err      string
}

func sharedAttacksWorld(t *testing.T) *sim.World {
	t.Helper()
	loadAttacksFixture(t)
	return attacksFixture.world
}

// singleCollectorBaseline runs the whole `attacks` scenario through one collector (receiver and
// access_anomaly with every rule, DBX-W01b included) and returns what it exported.
func singleCollectorBaseline(t *testing.T) *sinkContents {
	t.Helper()
	loadAttacksFixture(t)
	if attacksFixture.baseline == nil {
		t.Fatalf("single-collector baseline: %s", attacksFixture.err)
	}
	return attacksFixture.baseline
}

// attacksStart is the latest Monday 00:00 UTC from which the attacks timeline ends before now:
// the scenario is written for a Monday start (configs/sim/attacks.yaml), and which attacks land
// in which hour of the week — what the spike and learning rules see — must not depend on when
// the test runs (started at now - 15 days, the Kafka scale-out missed DBX-B07 at 05:00 UTC but
// not at 03:25).
func attacksStart(now time.Time, length time.Duration) time.Time {
	start := now.Add(-length).UTC().Truncate(24 * time.Hour)
	for start.Weekday() != time.Monday {
		start = start.Add(-24 * time.Hour)
	}
	return start
}

// attacksRetention is the delivery retention of every scale-out collector: it reaches back to
// attacksStart, up to 15 + 7 days before now (400h dropped the first days).
const attacksRetention = "800h"

func loadAttacksFixture(t *testing.T) {
	t.Helper()
	attacksFixture.once.Do(func() {
		sc, err := sim.LoadScenario(filepath.Join(repoRoot, "configs", "sim", "attacks.yaml"))
		if err != nil {
			attacksFixture.err = err.Error()
			return
		}
		length := time.Duration(sc.Duration)
		if length <= 0 {
			length = 360 * time.Hour
		}
		now := time.Now().UTC()
		w, err := sim.Build(sc, sim.Options{
			Start:    attacksStart(now, length).Format(time.RFC3339),
			Duration: length,
			Now:      now,
		})
		if err != nil {
			attacksFixture.err = err.Error()
			return
		}
		attacksFixture.world = w
		// The baseline runs inside the first test that asks for it; its failures fail that test.
		attacksFixture.err = "failed in " + t.Name()
		attacksFixture.baseline, attacksFixture.elapsed = runSingleCollector(t, w)
	})
	if attacksFixture.world == nil {
		t.Fatalf("attacks world: %s", attacksFixture.err)
	}
}

// deliveryFeed writes the world's delivery files into a directory the agent polls.
type deliveryFeed struct {
	world *sim.World
	dir   string
	d     *sim.Deliverer
	upTo  time.Time
}

func newDeliveryFeed(t *testing.T, w *sim.World) *deliveryFeed {
	t.Helper()
	dir := t.TempDir()
	staging := t.TempDir()
	store := liveOrderStore{stagedDirStore: stagedDirStore{root: dir, staging: staging}}
	return &deliveryFeed{world: w, dir: dir, d: sim.NewDeliverer(w, store)}
}

// liveOrderStore stamps each delivery object with the time of its first event as modification
// time. The receiver reads new objects oldest-modified first, so a step of several simulated
// days written at once is read in event-time order, as a live workspace's objects arrive
// (written at once, they would be read in key order, and object keys are hashes).
type liveOrderStore struct{ stagedDirStore }

func (s liveOrderStore) Put(ctx context.Context, key string, data []byte) error {
	if err := s.stagedDirStore.Put(ctx, key, data); err != nil {
		return err
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	var line struct {
		Timestamp int64 `json:"timestamp"`
	}
	if err := json.Unmarshal(first, &line); err != nil || line.Timestamp == 0 {
		return fmt.Errorf("delivery object %s: no timestamp on its first line: %v", key, err)
	}
	at := time.UnixMilli(line.Timestamp)
	return os.Chtimes(filepath.Join(s.root, filepath.FromSlash(key)), at, at)
}

func (f *deliveryFeed) url() string { return "file://" + f.dir }

// deliverUntil writes every object line due by upTo; it returns how many audit events are
// delivered in total so far.
func (f *deliveryFeed) deliverUntil(t *testing.T, upTo time.Time) int {
	t.Helper()
	deliverUpTo(t, f.d, upTo)
	f.upTo = upTo
	return f.delivered()
}

// deliverAll writes the rest of the timeline, late lines included.
func (f *deliveryFeed) deliverAll(t *testing.T) int {
	t.Helper()
	return f.deliverUntil(t, f.world.End.Add(24*time.Hour))
}

func (f *deliveryFeed) delivered() int {
	n := 0
	for i := range f.world.Events {
		if !f.world.Events[i].DeliverAt.After(f.upTo) {
			n++
		}
	}
	return n
}

// collectorPorts are the loopback addresses one collector process listens on.
type collectorPorts struct {
	otlp, health, telemetryPort string
}

func newCollectorPorts(t *testing.T) collectorPorts {
	t.Helper()
	_, tp, _ := net.SplitHostPort(freeAddress(t))
	return collectorPorts{otlp: freeAddress(t), health: freeAddress(t), telemetryPort: tp}
}

func (p collectorPorts) env() []string {
	return []string{
		"SCALEOUT_OTLP_GRPC_ENDPOINT=" + p.otlp,
		"SCALEOUT_HEALTH_CHECK_ENDPOINT=" + p.health,
		"SCALEOUT_TELEMETRY_PORT=" + p.telemetryPort,
	}
}

// detectorSettings are what the attacks scenario's ground truth asks a detector to know (the
// same as the shipped demo): the corporate networks, Berlin business hours and the scenario's
// ten-day dormancy.
var detectorSettings = []string{
	"SCALEOUT_TIMEZONE=Europe/Berlin",
	"SCALEOUT_ALLOWED_CIDRS=[203.0.113.0/24, 198.51.100.0/24]",
	"SCALEOUT_DORMANCY=192h",
	// feedSteps delivers three days at a time; the receiver reads the objects of a step in key
	// order (not event-time order), so event time jumps back by up to a step.
	"SCALEOUT_ALLOWED_LATENESS=80h",
}

// tier2 is one detector (or spray detector) process; it keeps its state directory across
// restarts and writes each life's output into its own directory.
type tier2 struct {
	name     string
	config   string
	ports    collectorPorts
	stateDir string
	outDirs  []string
	extraEnv []string // settings of the variant (e.g. the Kafka brokers)
	proc     *runningCollector
}

func startTier2(t *testing.T, name, config string, extraEnv ...string) *tier2 {
	t.Helper()
	d := &tier2{name: name, config: config, ports: newCollectorPorts(t), stateDir: t.TempDir(), extraEnv: extraEnv}
	d.start(t)
	return d
}

func (d *tier2) start(t *testing.T) {
	t.Helper()
	out := t.TempDir()
	d.outDirs = append(d.outDirs, out)
	env := append(d.ports.env(), detectorSettings...)
	env = append(env, "SCALEOUT_STATE_DIR="+d.stateDir, "SCALEOUT_OUT_DIR="+out)
	env = append(env, d.extraEnv...)
	d.proc = startCollector(t, shippedScaleOutConfig(t, d.config), env...)
	waitHealthy(t, d.name, d.ports.health)
}

func (d *tier2) stop(t *testing.T) { d.proc.stop(t, 30*time.Second) }

func (d *tier2) contents(t *testing.T) *sinkContents {
	t.Helper()
	var files []string
	for _, dir := range d.outDirs {
		files = append(files, filepath.Join(dir, "logs.json"))
	}
	return readSinks(t, files...)
}

// agent is the tier-1 process.
type agent struct {
	ports    collectorPorts
	stateDir string
	feed     *deliveryFeed
	proc     *runningCollector
}

func startAgent(t *testing.T, feed *deliveryFeed, detectors []*tier2, spray *tier2) *agent {
	t.Helper()
	a := &agent{ports: newCollectorPorts(t), stateDir: t.TempDir(), feed: feed}
	a.start(t, detectors, spray)
	return a
}

func (a *agent) start(t *testing.T, detectors []*tier2, spray *tier2) {
	t.Helper()
	a.proc = startCollector(t, shippedScaleOutConfig(t, "agent.yaml"), append(a.ports.env(),
		"SCALEOUT_STATE_DIR="+a.stateDir,
		"SCALEOUT_DELIVERY_URL="+a.feed.url(),
		"SCALEOUT_POLL_INTERVAL=1s",
		"SCALEOUT_RETENTION="+attacksRetention,
		"SCALEOUT_DETECTORS="+hostList(detectors),
		"SCALEOUT_SPRAY_DETECTORS="+hostList([]*tier2{spray}),
	)...)
	waitHealthy(t, "agent", a.ports.health)
}

// acceptedRecords is how many audit records the agent's receiver has handed to its pipelines
// (its own telemetry): records the agent holds even when no detector has received them yet.
func (a *agent) acceptedRecords(t *testing.T) (int, error) {
	t.Helper()
	return telemetryCounter("http://127.0.0.1:"+a.ports.telemetryPort+"/metrics",
		"otelcol_receiver_accepted_log_records", `receiver="databricks_audit/delivery"`)
}

// telemetryCounter sums the samples of a collector's Prometheus self-telemetry whose metric name
// starts with name (the exporter may add _total) and whose labels contain label.
func telemetryCounter(url, name, label string) (int, error) {
	code, body, err := httpGet(url)
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %d", url, code)
	}
	total, found := 0.0, false
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name) || !strings.Contains(line, label) {
			continue
		}
		fields := strings.Fields(line)
		var v float64
		if _, err := fmt.Sscan(fields[len(fields)-1], &v); err != nil {
			return 0, fmt.Errorf("sample %q: %v", line, err)
		}
		total, found = total+v, true
	}
	if !found {
		return 0, fmt.Errorf("no %s{%s} sample yet", name, label)
	}
	return int(total), nil
}

func hostList(ds []*tier2) string {
	hosts := make([]string, len(ds))
	for i, d := range ds {
		hosts[i] = d.ports.otlp
	}
	return "[" + strings.Join(hosts, ", ") + "]"
}

func shippedScaleOutConfig(t *testing.T, name string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(repoRoot, scaleOutDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func waitHealthy(t *testing.T, name, health string) {
	t.Helper()
	waitFor(t, 60*time.Second, name+" healthy", func() error { return expectStatus("http://"+health+"/", http.StatusOK) })
}

// runSingleCollector runs detector.yaml rewired to read the delivery files itself, with every
// rule on (DBX-W01b included): the one-instance deployment the scale-out must reproduce.
func runSingleCollector(t *testing.T, w *sim.World) (*sinkContents, time.Duration) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, scaleOutDir, "detector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw)
	// The receivers section (the otlp receiver) becomes the delivery-file receiver.
	recvAt, procAt := strings.Index(cfg, "\nreceivers:\n"), strings.Index(cfg, "\nprocessors:\n")
	if recvAt < 0 || procAt < recvAt {
		t.Fatal("detector.yaml changed: cannot derive the single-collector config (no receivers/processors sections)")
	}
	cfg = cfg[:recvAt] + "\nreceivers:\n" +
		"  databricks_audit/delivery:\n    source: delivery\n    storage: file_storage\n    delivery:\n" +
		"      url: ${env:SCALEOUT_DELIVERY_URL}\n      poll_interval: 1s\n      retention: " + attacksRetention + "\n" + cfg[procAt:]
	for old, repl := range map[string]string{
		"      DBX-W01b: {enabled: false}\n": "",
		"receivers: [otlp]":                  "receivers: [databricks_audit/delivery]",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("detector.yaml changed: cannot derive the single-collector config (missing %q)", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	path := filepath.Join(t.TempDir(), "single.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	feed := newDeliveryFeed(t, w)
	ports := newCollectorPorts(t)
	out := t.TempDir()
	begin := time.Now()
	proc := startCollector(t, path, append(append(ports.env(), detectorSettings...),
		"SCALEOUT_STATE_DIR="+t.TempDir(), "SCALEOUT_OUT_DIR="+out, "SCALEOUT_DELIVERY_URL="+feed.url())...)
	files := []string{filepath.Join(out, "logs.json")}
	read := func() *sinkContents { return readSinks(t, files...) }
	feedSteps(t, feed, w.End, read)
	_, complete := waitForAllRecords(t, feed.deliverAll(t), read)
	elapsed := complete.Sub(begin)
	cpu := cpuSeconds(t, proc.cmd.Process.Pid)
	t.Logf("FIGURE single collector: events=%d cpu=%.1fs (%.1f µs/event)", len(w.Events), cpu, cpu/float64(len(w.Events))*1e6)
	proc.stop(t, 30*time.Second)
	return readSinks(t, files...), elapsed
}

// feedStep is how much simulated time feedSteps delivers at once.
const feedStep = 72 * time.Hour

// feedSteps delivers the timeline from where the feed stands up to until, feedStep at a time,
// waiting after each step until every delivered event reached the sinks: a live workspace
// delivers in time order, and the detectors' windows run on event time.
func feedSteps(t *testing.T, feed *deliveryFeed, until time.Time, read func() *sinkContents) {
	t.Helper()
	from := feed.upTo
	if from.IsZero() {
		from = feed.world.Start
	}
	for upTo := from.Add(feedStep); ; upTo = upTo.Add(feedStep) {
		if upTo.After(until) {
			upTo = until
		}
		want := feed.deliverUntil(t, upTo)
		waitFor(t, 60*time.Second, fmt.Sprintf("events delivered up to %s at the sinks", upTo.Format(time.RFC3339)), func() error {
			if got := read().uniqueEvents(); got < want {
				return fmt.Errorf("%d of %d", got, want)
			}
			return nil
		})
		if !upTo.Before(until) {
			return
		}
	}
}

// sinkContents is what one or more file exporters wrote.
type sinkContents struct {
	auditRecords int                       // audit records, duplicates included
	eventIDs     map[string]int            // databricks.event_id -> times seen
	identities   map[string]bool           // user.email of the audit records
	findings     map[string]int            // "rule|entity" -> findings
	byRule       map[string]map[string]int // rule -> entity -> findings
	resources    map[string]string         // databricks.event_id -> its resource's attributes
	routingCopy  int                       // records still carrying the Kafka hop's databricks.routing.resource
}

func newSinkContents() *sinkContents {
	return &sinkContents{eventIDs: map[string]int{}, identities: map[string]bool{}, findings: map[string]int{},
		byRule: map[string]map[string]int{}, resources: map[string]string{}}
}

func (s *sinkContents) uniqueEvents() int { return len(s.eventIDs) }

func (s *sinkContents) duplicates() int { return s.auditRecords - len(s.eventIDs) }

func (s *sinkContents) findingCount() int {
	n := 0
	for _, c := range s.findings {
		n += c
	}
	return n
}

// findingKeys is the set of (rule, entity) pairs, sorted.
func (s *sinkContents) findingKeys() []string {
	keys := make([]string, 0, len(s.findings))
	for k := range s.findings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// merge adds another sink's contents (the union of several instances' outputs).
func (s *sinkContents) merge(o *sinkContents) {
	s.auditRecords += o.auditRecords
	s.routingCopy += o.routingCopy
	for k, v := range o.resources {
		s.resources[k] = v
	}
	for k, v := range o.eventIDs {
		s.eventIDs[k] += v
	}
	for k := range o.identities {
		s.identities[k] = true
	}
	for k, v := range o.findings {
		s.findings[k] += v
	}
	for r, m := range o.byRule {
		if s.byRule[r] == nil {
			s.byRule[r] = map[string]int{}
		}
		for e, v := range m {
			s.byRule[r][e] += v
		}
	}
}

// findingEntity is who a finding is about: the identity, or the source address for the
// per-address password-spray rule.
func findingEntity(attrs pcommon.Map) string {
	if rule, _ := attrs.Get("security_rule.uuid"); rule.Str() == "DBX-W01b" {
		// the identity on a spray finding is whichever failed login completed the count
		addr, _ := attrs.Get("source.address")
		return addr.Str()
	}
	if v, ok := attrs.Get("user.email"); ok && v.Str() != "" {
		return v.Str()
	}
	if v, ok := attrs.Get("source.address"); ok {
		return v.Str()
	}
	return ""
}

// readSinks parses file-exporter output (OTLP JSON, one request per line); missing files are
// empty (an instance that has not flushed yet).
func readSinks(t *testing.T, files ...string) *sinkContents {
	t.Helper()
	s := newSinkContents()
	var um plog.JSONUnmarshaler
	for _, f := range files {
		fh, err := os.Open(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 {
				continue
			}
			ld, err := um.UnmarshalLogs(line)
			if err != nil {
				// the exporter may be writing this very line: read it next time
				break
			}
			s.add(ld)
		}
		fh.Close()
	}
	return s
}

func (s *sinkContents) add(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		resource := fmt.Sprint(rls.At(i).Resource().Attributes().AsRaw()) // fmt sorts map keys
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				attrs := lrs.At(k).Attributes()
				if _, ok := attrs.Get("databricks.routing.resource"); ok {
					s.routingCopy++
				}
				name, _ := attrs.Get("event.name")
				switch name.Str() {
				case "databricks.audit":
					s.auditRecords++
					id, _ := attrs.Get("databricks.event_id")
					s.eventIDs[id.Str()]++
					s.resources[id.Str()] = resource
					if u, ok := attrs.Get("user.email"); ok {
						s.identities[u.Str()] = true
					}
				case "databricks.access_anomaly":
					rule, _ := attrs.Get("security_rule.uuid")
					entity := findingEntity(attrs)
					s.findings[rule.Str()+"|"+entity]++
					if s.byRule[rule.Str()] == nil {
						s.byRule[rule.Str()] = map[string]int{}
					}
					s.byRule[rule.Str()][entity]++
				}
			}
		}
	}
}

// waitForAllRecords polls the sinks until every delivered audit event arrived and the
// findings stopped changing for a few seconds (the spray detector works on its own copy).
func waitForAllRecords(t *testing.T, want int, read func() *sinkContents) (*sinkContents, time.Time) {
	t.Helper()
	var (
		last       *sinkContents
		stableFrom time.Time
		lastKey    string
		complete   time.Time
	)
	waitFor(t, 150*time.Second, fmt.Sprintf("all %d audit events at the sinks", want), func() error {
		last = read()
		if last.uniqueEvents() < want {
			return fmt.Errorf("%d of %d events (%d records with duplicates)", last.uniqueEvents(), want, last.auditRecords)
		}
		if complete.IsZero() {
			complete = time.Now()
		}
		key := fmt.Sprintf("%d/%d", last.auditRecords, last.findingCount())
		if key != lastKey {
			lastKey, stableFrom = key, time.Now()
		}
		if time.Since(stableFrom) < 3*time.Second {
			return fmt.Errorf("output still changing (%s)", key)
		}
		return nil
	})
	return last, complete
}

// diffKeys returns the keys only in a and only in b.
func diffKeys(a, b []string) (onlyA, onlyB []string) {
	inB := map[string]bool{}
	for _, k := range b {
		inB[k] = true
	}
	inA := map[string]bool{}
	for _, k := range a {
		inA[k] = true
		if !inB[k] {
			onlyA = append(onlyA, k)
		}
	}
	for _, k := range b {
		if !inA[k] {
			onlyB = append(onlyB, k)
		}
	}
	return onlyA, onlyB
}

// missedExpectations lists the ground-truth attacks (rule, entity) a run did not report.
func missedExpectations(w *sim.World, got *sinkContents) []string {
	var missed []string
	for _, e := range w.Truth {
		entity := e.Identity
		if e.Rule == "DBX-W01b" {
			entity = e.SourceAddress
		}
		if got.findings[e.Rule+"|"+entity] == 0 {
			missed = append(missed, e.Rule+"|"+entity)
		}
	}
	return missed
}

// attackPairs is the set of (rule, entity) pairs the scenario's attacks should produce.
type attackPairs map[string]bool

func (g attackPairs) truthKeys() map[string]bool { return g }

func truthOf(w *sim.World) attackPairs {
	g := attackPairs{}
	for _, e := range w.Truth {
		entity := e.Identity
		if e.Rule == "DBX-W01b" {
			entity = e.SourceAddress
		}
		g[e.Rule+"|"+entity] = true
	}
	return g
}

// cpuSeconds is the user+system CPU time a running process has used so far (Linux /proc).
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("cpu time of %d: %v", pid, err)
	}
	// the command name (field 2) may hold spaces: count fields after its closing parenthesis
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	var utime, stime float64
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks
}
