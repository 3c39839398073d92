// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

const (
	defaultCollectionInterval  = time.Minute
	defaultInitialDelay        = time.Second
	defaultIdentityInterval    = time.Hour
	defaultSystemTableInterval = 5 * time.Minute
	defaultNodeTimelineWindow  = 2 * time.Hour
	defaultBillingWindow       = 48 * time.Hour
)

// Config is the configuration of the databricks receiver (DESIGN §3.2).
type Config struct {
	// Connection keys (endpoint, token, client_id, ...) shared with databricks_audit.
	Connection connectionConfig `mapstructure:",squash"`

	// CollectionInterval and InitialDelay drive the scraper controller. They are not the embedded
	// scraperhelper.ControllerConfig because its `timeout` key would collide with the HTTP
	// `timeout` of the connection settings.
	CollectionInterval time.Duration `mapstructure:"collection_interval"`
	InitialDelay       time.Duration `mapstructure:"initial_delay"`

	// StorageID names a storage extension holding event cursors, job-run state, the identity
	// snapshot and system-table watermarks. Without it a restart starts from "now".
	StorageID *component.ID `mapstructure:"storage"`

	Clusters     ClustersConfig     `mapstructure:"clusters"`
	Jobs         JobsConfig         `mapstructure:"jobs"`
	Warehouses   WarehousesConfig   `mapstructure:"warehouses"`
	Identity     IdentityConfig     `mapstructure:"identity"`
	SystemTables SystemTablesConfig `mapstructure:"system_tables"`

	Metrics            MetricsConfig                     `mapstructure:"metrics"`
	ResourceAttributes metadata.ResourceAttributesConfig `mapstructure:"resource_attributes"`
}

type ClustersConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Events polls the events of changed or non-terminal clusters and emits them as logs.
	Events bool `mapstructure:"events"`
}

type JobsConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

type WarehousesConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

type IdentityConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Interval between identity snapshots; scrapes in between re-report the last snapshot.
	Interval time.Duration `mapstructure:"interval"`
}

type SystemTablesConfig struct {
	// WarehouseID of the SQL warehouse that runs the queries; empty disables system tables.
	WarehouseID  string `mapstructure:"warehouse_id"`
	NodeTimeline bool   `mapstructure:"node_timeline"`
	Billing      bool   `mapstructure:"billing"`
	// Interval between system-table queries (they cost warehouse time).
	Interval time.Duration `mapstructure:"interval"`
	// NodeTimelineWindow / BillingWindow: how far back each query re-reads so that rows
	// arriving late are still caught; rows already reported are skipped by key.
	NodeTimelineWindow time.Duration `mapstructure:"node_timeline_window"`
	BillingWindow      time.Duration `mapstructure:"billing_window"`
}

func (s SystemTablesConfig) enabled() bool {
	return s.WarehouseID != "" && (s.NodeTimeline || s.Billing)
}

// MetricsConfig holds the mdatagen toggles plus the one metric mdatagen v0.159 cannot generate
// (histograms are only supported for self-telemetry there).
type MetricsConfig struct {
	metadata.MetricsConfig   `mapstructure:",squash"`
	DatabricksJobRunDuration HistogramMetricConfig `mapstructure:"databricks.job.run.duration"`
}

type HistogramMetricConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the configuration; every error names the offending key.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Connection.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.CollectionInterval <= 0 {
		errs = append(errs, fmt.Errorf("collection_interval: must be positive, got %s", c.CollectionInterval))
	}
	if c.InitialDelay < 0 {
		errs = append(errs, fmt.Errorf("initial_delay: must not be negative, got %s", c.InitialDelay))
	}
	if c.Clusters.Events && !c.Clusters.Enabled {
		errs = append(errs, errors.New("clusters::events: requires clusters::enabled"))
	}
	if c.Identity.Enabled && c.Identity.Interval <= 0 {
		errs = append(errs, fmt.Errorf("identity::interval: must be positive, got %s", c.Identity.Interval))
	}
	st := c.SystemTables
	if (st.NodeTimeline || st.Billing) && st.WarehouseID == "" {
		errs = append(errs, errors.New("system_tables::warehouse_id: required when system_tables::node_timeline or system_tables::billing is true"))
	}
	if st.WarehouseID != "" && !st.NodeTimeline && !st.Billing {
		errs = append(errs, errors.New("system_tables::warehouse_id: set, but neither system_tables::node_timeline nor system_tables::billing is true"))
	}
	if st.enabled() {
		if st.Interval <= 0 {
			errs = append(errs, fmt.Errorf("system_tables::interval: must be positive, got %s", st.Interval))
		}
		if st.NodeTimeline && st.NodeTimelineWindow < st.Interval {
			errs = append(errs, fmt.Errorf("system_tables::node_timeline_window: must be at least system_tables::interval (%s), got %s", st.Interval, st.NodeTimelineWindow))
		}
		if st.Billing && st.BillingWindow < st.Interval {
			errs = append(errs, fmt.Errorf("system_tables::billing_window: must be at least system_tables::interval (%s), got %s", st.Interval, st.BillingWindow))
		}
	}
	if !c.Clusters.Enabled && !c.Jobs.Enabled && !c.Warehouses.Enabled && !c.Identity.Enabled && !st.enabled() {
		errs = append(errs, errors.New("clusters, jobs, warehouses, identity, system_tables: at least one source must be enabled"))
	}
	return errors.Join(errs...)
}

func createDefaultConfig() component.Config {
	return &Config{
		Connection:         newDefaultConnectionConfig(),
		CollectionInterval: defaultCollectionInterval,
		InitialDelay:       defaultInitialDelay,
		Clusters:           ClustersConfig{Enabled: true, Events: true},
		Jobs:               JobsConfig{Enabled: true},
		Warehouses:         WarehousesConfig{Enabled: true},
		Identity:           IdentityConfig{Enabled: true, Interval: defaultIdentityInterval},
		SystemTables: SystemTablesConfig{
			Interval:           defaultSystemTableInterval,
			NodeTimelineWindow: defaultNodeTimelineWindow,
			BillingWindow:      defaultBillingWindow,
		},
		Metrics: MetricsConfig{
			MetricsConfig:            metadata.DefaultMetricsConfig(),
			DatabricksJobRunDuration: HistogramMetricConfig{Enabled: true},
		},
		ResourceAttributes: metadata.DefaultResourceAttributesConfig(),
	}
}
