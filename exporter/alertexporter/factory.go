// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter/internal/metadata"
)

const (
	defaultRepeatInterval = time.Hour
	defaultTargetTimeout  = 10 * time.Second
	defaultExportTimeout  = 30 * time.Second
)

// NewFactory returns the factory of the alert exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func defaultClientConfig(endpoint string) confighttp.ClientConfig {
	c := confighttp.NewDefaultClientConfig()
	c.Endpoint = endpoint
	c.Timeout = defaultTargetTimeout
	return c
}

func createDefaultConfig() component.Config {
	return &Config{
		TimeoutConfig:  exporterhelper.TimeoutConfig{Timeout: defaultExportTimeout},
		QueueConfig:    configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:    configretry.NewDefaultBackOffConfig(),
		MinSeverity:    SeverityMedium,
		GroupBy:        []string{attrRuleID, attrUser},
		RepeatInterval: defaultRepeatInterval,
		// Default, not Some: a target is enabled only when its key appears,
		// and then starts from these defaults.
		Alertmanager: configoptional.Default(AlertmanagerConfig{ClientConfig: defaultClientConfig("")}),
		Slack:        configoptional.Default(SlackConfig{ClientConfig: defaultClientConfig("")}),
		PagerDuty:    configoptional.Default(PagerDutyConfig{ClientConfig: defaultClientConfig(DefaultPagerDutyEndpoint)}),
		Webhook:      configoptional.Default(WebhookConfig{ClientConfig: defaultClientConfig("")}),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newAlertExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs,
		exporterhelper.WithStart(func(ctx context.Context, host component.Host) error {
			return e.start(ctx, host, set.TelemetrySettings)
		}),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
