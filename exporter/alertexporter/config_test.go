// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

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

	"github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)

	assert.Equal(t, SeverityMedium, cfg.MinSeverity)
	assert.Equal(t, []string{"security_rule.uuid", "user.email"}, cfg.GroupBy)
	assert.Equal(t, time.Hour, cfg.RepeatInterval)
	assert.Equal(t, 30*time.Second, cfg.TimeoutConfig.Timeout)
	require.True(t, cfg.QueueConfig.HasValue())
	assert.Equal(t, 1000, int(cfg.QueueConfig.Get().QueueSize))
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Equal(t, 5*time.Second, cfg.RetryConfig.InitialInterval)

	assert.False(t, cfg.Alertmanager.HasValue())
	assert.False(t, cfg.Slack.HasValue())
	assert.False(t, cfg.PagerDuty.HasValue())
	require.True(t, cfg.Webhook.HasValue())
	assert.Equal(t, "https://siem.example.com/hook", cfg.Webhook.Get().ClientConfig.Endpoint)
	assert.Equal(t, 10*time.Second, cfg.Webhook.Get().ClientConfig.Timeout)
}

func TestConfigEveryKey(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)

	assert.Equal(t, SeverityHigh, cfg.MinSeverity)
	assert.Equal(t, []string{"security_rule.uuid", "user.email", "source.address"}, cfg.GroupBy)
	assert.Equal(t, 30*time.Minute, cfg.RepeatInterval)
	assert.Equal(t, 20*time.Second, cfg.TimeoutConfig.Timeout)

	require.True(t, cfg.Alertmanager.HasValue())
	am := cfg.Alertmanager.Get()
	assert.Equal(t, "http://alertmanager:9093", am.ClientConfig.Endpoint)
	assert.Equal(t, "https://grafana.example.com/d/access-anomalies", am.GeneratorURL)
	assert.Equal(t, 5*time.Second, am.ClientConfig.Timeout)

	require.True(t, cfg.Slack.HasValue())
	assert.Equal(t, configopaque.String("https://hooks.slack.com/services/T000/B000/XXXXXXXX"), cfg.Slack.Get().WebhookURL)
	assert.Equal(t, 7*time.Second, cfg.Slack.Get().ClientConfig.Timeout)

	require.True(t, cfg.PagerDuty.HasValue())
	pd := cfg.PagerDuty.Get()
	assert.Equal(t, configopaque.String("R0UT1NGKEY0123456789abcdef012345"), pd.RoutingKey)
	assert.Equal(t, "https://events.eu.pagerduty.com/v2/enqueue", pd.ClientConfig.Endpoint)
	assert.Equal(t, 10*time.Second, pd.ClientConfig.Timeout, "target keeps its default timeout")

	require.True(t, cfg.Webhook.HasValue())
	headers := cfg.Webhook.Get().ClientConfig.Headers
	auth, ok := headers.Get("Authorization")
	require.True(t, ok)
	assert.Equal(t, configopaque.String("Bearer s3cr3t"), auth)
	src, ok := headers.Get("X-Source")
	require.True(t, ok)
	assert.Equal(t, configopaque.String("otelcol-databricks"), src)

	q := cfg.QueueConfig.Get()
	require.NotNil(t, q)
	assert.Equal(t, int64(500), q.QueueSize)
	assert.Equal(t, 2, q.NumConsumers)
	assert.Equal(t, time.Second, cfg.RetryConfig.InitialInterval)
	assert.Equal(t, 10*time.Second, cfg.RetryConfig.MaxInterval)
	assert.Equal(t, 2*time.Minute, cfg.RetryConfig.MaxElapsedTime)
}

func TestConfigPagerDutyDefaultEndpoint(t *testing.T) {
	cfg, err := loadConfig(t, "disabled_target")
	require.NoError(t, err)
	assert.False(t, cfg.Slack.HasValue(), "enabled: false turns a target off")
	require.True(t, cfg.PagerDuty.HasValue())
	assert.Equal(t, "https://events.pagerduty.com/v2/enqueue", cfg.PagerDuty.Get().ClientConfig.Endpoint)
}

func TestConfigUnknownKeysInTargetBlocks(t *testing.T) {
	tests := []struct{ name, wantErr string }{
		{"alertmanager_typo", "invalid keys: generatr_url"},
		{"slack_typo", "invalid keys: webhok_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
			require.NoError(t, err)
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(NewFactory().CreateDefaultConfig())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"no_target", "at least one target must be configured"},
		{"bad_severity", `min_severity: "severe" is not one of info, low, medium, high, critical`},
		{"negative_repeat", "repeat_interval: must not be negative"},
		{"empty_group_by", "group_by: must name at least one attribute"},
		{"blank_group_key", "group_by[1]: attribute key must not be empty"},
		{"alertmanager_no_endpoint", "alertmanager: endpoint: must be set"},
		{"alertmanager_bad_generator", `alertmanager: generator_url: "not a url" is not an absolute URL`},
		{"slack_no_url", "slack: webhook_url: must be set"},
		{"slack_bad_url", "slack: webhook_url: must be an absolute http(s) URL"},
		{"slack_endpoint", "slack: endpoint: not used by slack; set webhook_url instead"},
		{"pagerduty_no_key", "pagerduty: routing_key: must be set"},
		{"webhook_bad_endpoint", `webhook: endpoint: "ftp://siem.example.com/<redacted>" is not an absolute http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestConfigValidationNeverEchoesSecrets(t *testing.T) {
	cfg, err := loadConfig(t, "slack_bad_url")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "XXXXXXXX")
	assert.NotContains(t, (*cfg).Slack.Get().WebhookURL.String(), "XXXXXXXX")
}
