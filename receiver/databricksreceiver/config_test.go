// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestLoadConfig(t *testing.T) {
	def := loadConfig(t, "")
	require.NoError(t, confmap.Validate(def))
	assert.Equal(t, createDefaultConfig(), def)
	assert.Equal(t, time.Minute, def.CollectionInterval)
	assert.Equal(t, time.Hour, def.Identity.Interval)
	assert.True(t, def.Clusters.Events)
	assert.Equal(t, 10.0, def.Connection.MaxRequestsPerSecond)
	assert.True(t, def.Metrics.DatabricksJobRunDuration.Enabled)

	custom := loadConfig(t, "custom")
	require.NoError(t, confmap.Validate(custom))
	storageID := component.MustNewID("file_storage")
	assert.Equal(t, "https://adb-1234567890123456.7.azuredatabricks.net", custom.Connection.Endpoint)
	assert.Equal(t, configopaque.String("dapi-secret"), custom.Connection.Token)
	assert.Equal(t, 30*time.Second, custom.Connection.Timeout)
	assert.Equal(t, 5.0, custom.Connection.MaxRequestsPerSecond)
	assert.Equal(t, 2*time.Minute, custom.CollectionInterval)
	assert.Equal(t, 5*time.Second, custom.InitialDelay)
	assert.Equal(t, &storageID, custom.StorageID)
	assert.Equal(t, ClustersConfig{Enabled: true, Events: false}, custom.Clusters)
	assert.False(t, custom.Jobs.Enabled)
	assert.Equal(t, IdentityConfig{Enabled: true, Interval: 6 * time.Hour}, custom.Identity)
	assert.Equal(t, SystemTablesConfig{
		WarehouseID: "1234567890abcdef", NodeTimeline: true, Billing: true,
		Interval: 10 * time.Minute, NodeTimelineWindow: 3 * time.Hour, BillingWindow: 72 * time.Hour,
	}, custom.SystemTables)
	assert.False(t, custom.Metrics.DatabricksClusterUptime.Enabled)
	assert.True(t, custom.Metrics.DatabricksClusterState.Enabled)
	assert.False(t, custom.Metrics.DatabricksJobRunDuration.Enabled)
}

func TestConfigValidateNamesKey(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"bad_interval", "collection_interval: must be positive"},
		{"bad_identity", "identity::interval: must be positive"},
		{"bad_system_tables", "system_tables::warehouse_id: required"},
		{"bad_window", "system_tables::billing_window: must be at least system_tables::interval"},
		{"bad_events", "clusters::events: requires clusters::enabled"},
		{"bad_endpoint", "endpoint:"},
		{"bad_oauth", "client_secret"},
		{"nothing_enabled", "at least one source must be enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, tt.name))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestTokenIsNotPrinted(t *testing.T) {
	custom := loadConfig(t, "custom")
	assert.NotContains(t, string(custom.Connection.Token.String()), "dapi-secret")
}
