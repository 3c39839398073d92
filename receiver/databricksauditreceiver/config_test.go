package databricksauditreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestConfigDefaults(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "system.access.audit", cfg.SystemTable.Table)
	assert.Equal(t, time.Minute, cfg.SystemTable.PollInterval)
	assert.Equal(t, 24*time.Hour, cfg.SystemTable.InitialLookback)
	assert.Equal(t, 15*time.Minute, cfg.SystemTable.Overlap)
	assert.Equal(t, 100000, cfg.SystemTable.MaxRowsPerPoll)
	assert.Equal(t, time.Minute, cfg.SystemTable.Delay)
	for _, oc := range []ObjectConfig{cfg.Delivery, cfg.AzureDiagnostics} {
		assert.Equal(t, time.Minute, oc.PollInterval)
		assert.Equal(t, 72*time.Hour, oc.Retention)
		assert.Equal(t, 4<<20, oc.MaxLineSize)
	}
	assert.Equal(t, 10.0, cfg.MaxRequestsPerSecond)
	assert.Nil(t, cfg.StorageID)
	assert.Equal(t, "map", cfg.BodyFormat)
}

func TestConfigLoad(t *testing.T) {
	cfg, err := loadConfig(t, "uc")
	require.NoError(t, err)
	assert.Equal(t, "system_table", cfg.Source)
	assert.Equal(t, "https://adb-1234.5.azuredatabricks.net", cfg.Endpoint)
	assert.Equal(t, "dapi-secret", string(cfg.Token))
	assert.Equal(t, "file_storage", cfg.StorageID.String())
	assert.Equal(t, SystemTableConfig{
		WarehouseID: "1234567890abcdef", Table: "system.access.audit", PollInterval: 2 * time.Minute,
		InitialLookback: 48 * time.Hour, Overlap: 20 * time.Minute, MaxRowsPerPoll: 50000, Delay: time.Minute,
	}, cfg.SystemTable)

	cfg, err = loadConfig(t, "s3")
	require.NoError(t, err)
	assert.Equal(t, ObjectConfig{
		URL: "s3://audit-bucket/databricks/?region=eu-west-1", PollInterval: 30 * time.Second,
		Retention: 96 * time.Hour, MaxLineSize: 4 << 20,
	}, cfg.Delivery)

	assert.Equal(t, "string", cfg.BodyFormat)

	cfg, err = loadConfig(t, "azure")
	require.NoError(t, err)
	assert.Equal(t, "azblob://insights-logs-accounts", cfg.AzureDiagnostics.URL)
	assert.Equal(t, "map", cfg.BodyFormat)
}

func TestConfigValidate(t *testing.T) {
	tests := map[string][]string{
		"missing_source": {"source: required"},
		"unknown_source": {`source: unknown value "kafka"`},
		"no_warehouse":   {"system_table.warehouse_id: required when source is system_table"},
		"bad_scheme":     {`delivery.url: unsupported scheme "ftp"`},
		"no_url":         {"azure_diagnostics.url: required when source is azure_diagnostics"},
		"negative_durations": {
			"system_table.poll_interval: must be positive",
			"system_table.overlap: must not be negative",
			"system_table.max_rows_per_poll: must be positive",
		},
		"bad_client":          {"endpoint: scheme must be https"},
		"conflicting_sources": {"system_table: set, but source is delivery"},
		"bad_body_format":     {`body_format: unknown value "raw", want map or string`},
	}
	for name, wants := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, want := range wants {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestConfigValidateObjectKeys(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Source = sourceAzureDiagnostics
	cfg.AzureDiagnostics.URL = "s3://bucket"
	cfg.AzureDiagnostics.Retention = 0
	cfg.AzureDiagnostics.MaxLineSize = 10
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `azure_diagnostics.url: scheme "s3" is not where Azure writes`)
	assert.Contains(t, err.Error(), "azure_diagnostics.retention: must be positive")
	assert.Contains(t, err.Error(), "azure_diagnostics.max_line_size: must be at least 1024 bytes")
}
