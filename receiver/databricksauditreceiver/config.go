package databricksauditreceiver

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// Source values of the `source` key.
const (
	sourceSystemTable      = "system_table"
	sourceDelivery         = "delivery"
	sourceAzureDiagnostics = "azure_diagnostics"
)

// Values of the `body_format` key.
const (
	bodyFormatMap    = "map"
	bodyFormatString = "string"
)

// Config is the databricks_audit receiver configuration (DESIGN §3.1). One instance reads one
// source; run several instances for several sources.
type Config struct {
	// ClientConfig holds the workspace connection keys (DESIGN §2); only system_table uses them.
	databricks.ClientConfig `mapstructure:",squash"`

	// Source is system_table, delivery or azure_diagnostics.
	Source string `mapstructure:"source"`
	// StorageID names the storage extension that keeps checkpoints. Without it a restart
	// re-reads initial_lookback (system_table) or the retention window (object sources).
	StorageID *component.ID `mapstructure:"storage"`
	// BodyFormat is map (the record decoded into the Body, DESIGN §3.1) or string (the record's
	// JSON text, exactly as read where the source has one record per line). The attributes are
	// the same; string takes about a third less CPU per delivery record (BENCHMARKS.md).
	BodyFormat string `mapstructure:"body_format"`

	SystemTable      SystemTableConfig `mapstructure:"system_table"`
	Delivery         ObjectConfig      `mapstructure:"delivery"`
	AzureDiagnostics ObjectConfig      `mapstructure:"azure_diagnostics"`

	_ struct{}
}

// SystemTableConfig configures reading system.access.audit through a SQL warehouse.
type SystemTableConfig struct {
	WarehouseID string `mapstructure:"warehouse_id"`
	// Table is the audit table or a view of it.
	Table        string        `mapstructure:"table"`
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// InitialLookback is how far back the first poll (no checkpoint yet) reads.
	InitialLookback time.Duration `mapstructure:"initial_lookback"`
	// Overlap is re-read on every poll to pick up rows that landed late; duplicates are
	// dropped by event_id.
	Overlap time.Duration `mapstructure:"overlap"`
	// MaxRowsPerPoll caps one statement's result; a full page continues on the next poll
	// from the last event_time read.
	MaxRowsPerPoll int `mapstructure:"max_rows_per_poll"`
	// Delay keeps the upper bound of each poll this far behind now, so that a poll does not
	// race the rows of the current second that are still being written.
	Delay time.Duration `mapstructure:"delay"`
}

// ObjectConfig configures reading objects from a bucket or directory (delivery and
// azure_diagnostics sources).
type ObjectConfig struct {
	// URL of the bucket and prefix: file:///dir, s3://bucket/prefix?region=..., gs://bucket/prefix,
	// azblob://container/prefix (mem:// for tests).
	URL          string        `mapstructure:"url"`
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Retention: objects last modified longer ago are neither read nor remembered. Bounds the
	// checkpoint and the listing (date partitions older than it are not listed).
	Retention time.Duration `mapstructure:"retention"`
	// MaxLineSize is the longest line accepted, in bytes; a longer line is counted, logged and
	// skipped without being held in memory.
	MaxLineSize int `mapstructure:"max_line_size"`
}

var _ confmap.Validator = (*Config)(nil)

func defaultObjectConfig() ObjectConfig {
	return ObjectConfig{
		PollInterval: time.Minute,
		Retention:    72 * time.Hour,
		MaxLineSize:  4 << 20,
	}
}

func createDefaultConfig() component.Config {
	return &Config{
		ClientConfig: databricks.NewDefaultClientConfig(),
		BodyFormat:   bodyFormatMap,
		SystemTable: SystemTableConfig{
			Table:           databricks.DefaultAuditTable,
			PollInterval:    time.Minute,
			InitialLookback: 24 * time.Hour,
			Overlap:         15 * time.Minute,
			MaxRowsPerPoll:  100000,
			Delay:           time.Minute,
		},
		Delivery:         defaultObjectConfig(),
		AzureDiagnostics: defaultObjectConfig(),
	}
}

// supportedSchemes are the bucket URL schemes compiled in (see bucket.go).
var supportedSchemes = map[string]bool{"file": true, "s3": true, "gs": true, "azblob": true, "mem": true}

// Validate checks the keys of the selected source; every error names its key. The connection
// keys are validated by databricks.ClientConfig.Validate.
func (c *Config) Validate() error {
	var errs []error
	switch c.Source {
	case "":
		errs = append(errs, errors.New("source: required, one of system_table, delivery, azure_diagnostics"))
	case sourceSystemTable:
		errs = append(errs, c.SystemTable.validate()...)
	case sourceDelivery:
		errs = append(errs, c.Delivery.validate("delivery")...)
	case sourceAzureDiagnostics:
		errs = append(errs, c.AzureDiagnostics.validate("azure_diagnostics")...)
		if u, err := url.Parse(c.AzureDiagnostics.URL); err == nil && (u.Scheme == "s3" || u.Scheme == "gs") {
			errs = append(errs, fmt.Errorf("azure_diagnostics.url: scheme %q is not where Azure writes diagnostic logs; use azblob:// or file://", u.Scheme))
		}
	default:
		errs = append(errs, fmt.Errorf("source: unknown value %q, want one of system_table, delivery, azure_diagnostics", c.Source))
	}
	if c.BodyFormat != bodyFormatMap && c.BodyFormat != bodyFormatString {
		errs = append(errs, fmt.Errorf("body_format: unknown value %q, want map or string", c.BodyFormat))
	}
	errs = append(errs, c.otherSourceSections()...)
	return errors.Join(errs...)
}

// otherSourceSections refuses settings of a source the instance does not read: they would be
// ignored silently, and they are almost always a copy-paste mistake or an attempt to read two
// sources with one instance (run a named instance per source instead).
func (c *Config) otherSourceSections() []error {
	if c.Source == "" {
		return nil
	}
	defaults := createDefaultConfig().(*Config)
	sections := []struct {
		key string
		set bool
	}{
		{sourceSystemTable, c.SystemTable != defaults.SystemTable},
		{sourceDelivery, c.Delivery != defaults.Delivery},
		{sourceAzureDiagnostics, c.AzureDiagnostics != defaults.AzureDiagnostics},
	}
	var errs []error
	for _, section := range sections {
		if section.set && section.key != c.Source {
			errs = append(errs, fmt.Errorf("%s: set, but source is %s; one instance reads one source, run a named instance (e.g. databricks_audit/%s) for each", section.key, c.Source, section.key))
		}
	}
	return errs
}

func (s *SystemTableConfig) validate() []error {
	var errs []error
	if s.WarehouseID == "" {
		errs = append(errs, errors.New("system_table.warehouse_id: required when source is system_table"))
	}
	if s.Table == "" {
		errs = append(errs, errors.New("system_table.table: must not be empty"))
	}
	errs = appendPositive(errs, "system_table.poll_interval", s.PollInterval)
	errs = appendPositive(errs, "system_table.initial_lookback", s.InitialLookback)
	if s.Overlap < 0 {
		errs = append(errs, fmt.Errorf("system_table.overlap: must not be negative, got %s", s.Overlap))
	}
	if s.Delay < 0 {
		errs = append(errs, fmt.Errorf("system_table.delay: must not be negative, got %s", s.Delay))
	}
	if s.MaxRowsPerPoll <= 0 {
		errs = append(errs, fmt.Errorf("system_table.max_rows_per_poll: must be positive, got %d", s.MaxRowsPerPoll))
	}
	return errs
}

func (o *ObjectConfig) validate(prefix string) []error {
	var errs []error
	if o.URL == "" {
		errs = append(errs, fmt.Errorf("%s.url: required when source is %s", prefix, prefix))
	} else if u, err := url.Parse(o.URL); err != nil {
		errs = append(errs, fmt.Errorf("%s.url: not a valid URL", prefix))
	} else if !supportedSchemes[u.Scheme] {
		errs = append(errs, fmt.Errorf("%s.url: unsupported scheme %q, want file, s3, gs or azblob", prefix, u.Scheme))
	}
	errs = appendPositive(errs, prefix+".poll_interval", o.PollInterval)
	errs = appendPositive(errs, prefix+".retention", o.Retention)
	if o.MaxLineSize < 1024 {
		errs = append(errs, fmt.Errorf("%s.max_line_size: must be at least 1024 bytes, got %d", prefix, o.MaxLineSize))
	}
	return errs
}

func appendPositive(errs []error, key string, d time.Duration) []error {
	if d <= 0 {
		return append(errs, fmt.Errorf("%s: must be positive, got %s", key, d))
	}
	return errs
}

// objectConfig returns the settings of the selected object source.
func (c *Config) objectConfig() ObjectConfig {
	if c.Source == sourceAzureDiagnostics {
		return c.AzureDiagnostics
	}
	return c.Delivery
}
