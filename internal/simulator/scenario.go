package simulator

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario describes a simulated workspace: its population, its workload and the attacks to
// inject. It is read from YAML (see cmd/databricks-sim/README.md for the format).
type Scenario struct {
	Name              string         `yaml:"name"`
	Seed              int64          `yaml:"seed"`
	Start             string         `yaml:"start"`    // RFC 3339, or "now" / "now-24h" (truncated to the minute)
	Duration          Duration       `yaml:"duration"` // length of the generated timeline
	Workspace         WorkspaceSpec  `yaml:"workspace"`
	Users             int            `yaml:"users"`
	ServicePrincipals int            `yaml:"service_principals"`
	Rate              float64        `yaml:"rate"` // mean benign user events per second over the timeline
	Clusters          int            `yaml:"clusters"`
	Jobs              int            `yaml:"jobs"`
	RunsPerJobPerDay  float64        `yaml:"runs_per_job_per_day"`
	Warehouses        int            `yaml:"warehouses"`
	Novelty           NoveltySpec    `yaml:"novelty"`
	Delivery          DeliverySpec   `yaml:"delivery"`
	Attacks           []AttackSpec   `yaml:"attacks"`
	Faults            []FaultRule    `yaml:"faults"`
	Statements        StatementsSpec `yaml:"statements"`
	// ActivityShift makes the users keep the working hours of a clock this much behind the
	// timeline's: their sessions at time t are those they would have at t - activity_shift.
	// Users work weekdays in Europe and the US, so a live timeline started at night or at a
	// weekend is nearly silent; tests that must run at any hour shift it onto a working
	// afternoon (BusyShift). Service principals, clusters, jobs and attacks are not shifted.
	ActivityShift Duration `yaml:"activity_shift"`

	variant int64 // Options.Variant
}

// WorkspaceSpec names the simulated workspace.
type WorkspaceSpec struct {
	ID        string `yaml:"id"`
	AccountID string `yaml:"account_id"`
	Name      string `yaml:"name"`
	Shard     string `yaml:"shard"`
	Cloud     string `yaml:"cloud"` // AWS, Azure or GCP: only changes host names and UA strings
	// CorporateCIDRs are the networks normal interactive traffic comes from (allowed_cidrs).
	CorporateCIDRs []string `yaml:"corporate_cidrs"`
}

// NoveltySpec sets how often benign-but-new behaviour happens (rates per user).
type NoveltySpec struct {
	TravelPerUserMonth    float64 `yaml:"travel_per_user_month"`
	NewDevicePerUserMonth float64 `yaml:"new_device_per_user_month"`
	NewTablePerUserWeek   float64 `yaml:"new_table_per_user_week"`
	LateWorkPerUserWeek   float64 `yaml:"late_work_per_user_week"`
	FailedLoginPerUserDay float64 `yaml:"failed_login_per_user_day"`
}

// DeliverySpec shapes the audit-log delivery files.
type DeliverySpec struct {
	Prefix   string   `yaml:"prefix"`   // object key prefix, no leading/trailing slash
	Interval Duration `yaml:"interval"` // one object per workspace per interval (default 5m)
	// LateFraction of events arrive after their object was first delivered, so the object is
	// rewritten with extra lines (as Databricks does).
	LateFraction float64  `yaml:"late_fraction"`
	LateBy       Duration `yaml:"late_by"` // default 20m
}

// StatementsSpec shapes the SQL Statement Execution API.
type StatementsSpec struct {
	ChunkRows int      `yaml:"chunk_rows"` // rows per result chunk (default 5000)
	Latency   Duration `yaml:"latency"`    // time a statement spends PENDING/RUNNING
}

// AttackSpec injects one attack (or a repeated series) for one rule id.
type AttackSpec struct {
	Rule     string   `yaml:"rule"`     // e.g. DBX-W01
	Identity string   `yaml:"identity"` // user.email; empty = a deterministic pick
	At       Duration `yaml:"at"`       // offset from the scenario start
	Every    Duration `yaml:"every"`    // repeat interval; 0 = once
	Times    int      `yaml:"times"`    // repetitions when Every is set (0 = until the end)
	Count    int      `yaml:"count"`    // events in the burst, where the rule counts events
	SourceIP string   `yaml:"source_ip"`
	// DormantFor silences the identity's normal activity for this long before the attack (B11).
	DormantFor Duration `yaml:"dormant_for"`
}

// Duration is a time.Duration that also accepts a "d" (day) unit in YAML and flags.
type Duration time.Duration

// ParseDuration accepts Go durations plus whole or fractional days ("14d", "1d12h").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var total time.Duration
	if i := strings.Index(s, "d"); i > 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		total = time.Duration(days * float64(24*time.Hour))
		s = s[i+1:]
		if s == "" {
			return Duration(total), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return Duration(total + d), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// LoadScenario reads a scenario file and fills in defaults.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseScenario(b)
}

// ParseScenario parses scenario YAML (unknown keys are an error) and fills in defaults.
func ParseScenario(b []byte) (*Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// DefaultScenario is a small quiet workspace: the base every scenario file starts from.
func DefaultScenario() *Scenario {
	s := &Scenario{}
	s.ApplyDefaults()
	return s
}

// ApplyDefaults fills every unset field with its default.
func (s *Scenario) ApplyDefaults() {
	if s.Name == "" {
		s.Name = "default"
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.Start == "" {
		s.Start = "2026-01-05T00:00:00Z"
	}
	if s.Duration == 0 {
		s.Duration = Duration(24 * time.Hour)
	}
	w := &s.Workspace
	if w.ID == "" {
		w.ID = "4839201746501234"
	}
	if w.AccountID == "" {
		w.AccountID = "0b6f3a7e-1c2d-4e5f-8a9b-112233445566"
	}
	if w.Name == "" {
		w.Name = "adb-sim"
	}
	if w.Shard == "" {
		w.Shard = "oregon-prod-12"
	}
	if w.Cloud == "" {
		w.Cloud = "AWS"
	}
	if len(w.CorporateCIDRs) == 0 {
		w.CorporateCIDRs = []string{"203.0.113.0/24", "198.51.100.0/24"}
	}
	if s.Users == 0 {
		s.Users = 20
	}
	if s.ServicePrincipals == 0 {
		s.ServicePrincipals = 3
	}
	if s.Rate == 0 {
		s.Rate = 0.05
	}
	if s.Clusters == 0 {
		s.Clusters = 6
	}
	if s.Jobs == 0 {
		s.Jobs = 8
	}
	if s.RunsPerJobPerDay == 0 {
		s.RunsPerJobPerDay = 6
	}
	if s.Warehouses == 0 {
		s.Warehouses = 2
	}
	if s.Delivery.Interval == 0 {
		s.Delivery.Interval = Duration(5 * time.Minute)
	}
	if s.Delivery.LateBy == 0 {
		s.Delivery.LateBy = Duration(20 * time.Minute)
	}
	if s.Statements.ChunkRows == 0 {
		s.Statements.ChunkRows = 5000
	}
	if s.Novelty.FailedLoginPerUserDay == 0 {
		s.Novelty.FailedLoginPerUserDay = 0.05
	}
}

// Validate reports the first invalid field, named by its YAML key.
func (s *Scenario) Validate() error {
	if _, err := s.StartTime(time.Time{}); err != nil {
		return err
	}
	switch {
	case s.Duration <= 0:
		return errors.New("scenario: duration must be positive")
	case s.Users < 1:
		return errors.New("scenario: users must be >= 1")
	case s.Rate < 0:
		return errors.New("scenario: rate must be >= 0")
	case s.Statements.ChunkRows < 1:
		return errors.New("scenario: statements.chunk_rows must be >= 1")
	case s.Delivery.LateFraction < 0 || s.Delivery.LateFraction > 1:
		return errors.New("scenario: delivery.late_fraction must be within [0, 1]")
	case strings.HasPrefix(s.Delivery.Prefix, "/") || strings.HasSuffix(s.Delivery.Prefix, "/"):
		return errors.New("scenario: delivery.prefix must not start or end with '/'")
	}
	for i, a := range s.Attacks {
		if _, ok := attackGenerators[a.Rule]; !ok {
			return fmt.Errorf("scenario: attacks[%d].rule: unknown rule id %q", i, a.Rule)
		}
		if a.At < 0 || a.At.D() > s.Duration.D() {
			return fmt.Errorf("scenario: attacks[%d].at must be within the duration", i)
		}
	}
	for i, f := range s.Faults {
		if err := f.validate(); err != nil {
			return fmt.Errorf("scenario: faults[%d]: %w", i, err)
		}
	}
	return nil
}

// StartTime resolves Start. A now-based start ("now", "now-24h") uses the given wall-clock time
// truncated to the minute, so the same seed and the same start minute give the same data.
func (s *Scenario) StartTime(now time.Time) (time.Time, error) {
	v := strings.TrimSpace(s.Start)
	if strings.HasPrefix(v, "now") {
		t := now.UTC().Truncate(time.Minute)
		rest := strings.TrimPrefix(v, "now")
		if rest == "" {
			return t, nil
		}
		sign := time.Duration(1)
		switch rest[0] {
		case '-':
			sign = -1
		case '+':
		default:
			return time.Time{}, fmt.Errorf("scenario: start: invalid %q", s.Start)
		}
		d, err := ParseDuration(rest[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("scenario: start: %w", err)
		}
		return t.Add(sign * d.D()), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("scenario: start: %w", err)
	}
	return t.UTC(), nil
}
