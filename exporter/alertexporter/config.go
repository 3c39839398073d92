// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// DefaultPagerDutyEndpoint is the PagerDuty Events API v2 enqueue URL.
const DefaultPagerDutyEndpoint = "https://events.pagerduty.com/v2/enqueue"

// Config is the configuration of the alert exporter.
type Config struct {
	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// MinSeverity is the lowest anomaly.severity that is alerted on.
	MinSeverity Severity `mapstructure:"min_severity"`
	// GroupBy names the finding attributes (record first, then resource)
	// whose values identify an alert group.
	GroupBy []string `mapstructure:"group_by"`
	// RepeatInterval is how long a notified group stays quiet; 0 sends every finding.
	RepeatInterval time.Duration `mapstructure:"repeat_interval"`

	Alertmanager configoptional.Optional[AlertmanagerConfig] `mapstructure:"alertmanager"`
	Slack        configoptional.Optional[SlackConfig]        `mapstructure:"slack"`
	PagerDuty    configoptional.Optional[PagerDutyConfig]    `mapstructure:"pagerduty"`
	Webhook      configoptional.Optional[WebhookConfig]      `mapstructure:"webhook"`

	_ struct{}
}

// AlertmanagerConfig configures POST /api/v2/alerts on an Alertmanager.
type AlertmanagerConfig struct {
	// ClientConfig.Endpoint is the Alertmanager base URL, e.g. http://alertmanager:9093.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// GeneratorURL is sent as the alerts' generatorURL (a link back to where
	// the finding can be investigated, e.g. a dashboard).
	GeneratorURL string `mapstructure:"generator_url"`

	_ struct{}
}

// SlackConfig configures a Slack incoming webhook.
type SlackConfig struct {
	// WebhookURL carries its own credential in the path, hence opaque.
	WebhookURL configopaque.String `mapstructure:"webhook_url"`
	// ClientConfig supplies timeout, TLS and proxy settings; its endpoint is
	// not used (the webhook URL is the endpoint).
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`

	_ struct{}
}

// PagerDutyConfig configures the PagerDuty Events API v2.
type PagerDutyConfig struct {
	RoutingKey   configopaque.String     `mapstructure:"routing_key"`
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`

	_ struct{}
}

// WebhookConfig configures a generic JSON webhook; ClientConfig.Headers
// (opaque values) are sent with every request.
type WebhookConfig struct {
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`

	_ struct{}
}

var (
	_ confmap.Validator = (*Config)(nil)
	_ confmap.Validator = (*AlertmanagerConfig)(nil)
	_ confmap.Validator = (*SlackConfig)(nil)
	_ confmap.Validator = (*PagerDutyConfig)(nil)
	_ confmap.Validator = (*WebhookConfig)(nil)
)

// Validate checks the exporter-level keys; each target validates its own
// block (confmap prefixes those errors with the target's key).
func (c *Config) Validate() error {
	var errs []error
	if !c.Alertmanager.HasValue() && !c.Slack.HasValue() && !c.PagerDuty.HasValue() && !c.Webhook.HasValue() {
		errs = append(errs, errors.New("at least one target must be configured: alertmanager, slack, pagerduty or webhook"))
	}
	if _, ok := severityRanks[c.MinSeverity]; !ok {
		errs = append(errs, fmt.Errorf("min_severity: %q is not one of info, low, medium, high, critical", c.MinSeverity))
	}
	if c.RepeatInterval < 0 {
		errs = append(errs, fmt.Errorf("repeat_interval: must not be negative, got %s", c.RepeatInterval))
	}
	if len(c.GroupBy) == 0 {
		errs = append(errs, errors.New("group_by: must name at least one attribute"))
	}
	for i, key := range c.GroupBy {
		if key == "" {
			errs = append(errs, fmt.Errorf("group_by[%d]: attribute key must not be empty", i))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the alertmanager block.
func (c *AlertmanagerConfig) Validate() error {
	var errs []error
	if err := validateHTTPURL("endpoint", c.ClientConfig.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if c.GeneratorURL != "" {
		if u, err := url.Parse(c.GeneratorURL); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("generator_url: %q is not an absolute URL", c.GeneratorURL))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the slack block.
func (c *SlackConfig) Validate() error {
	var errs []error
	// The URL is a secret: errors describe it without echoing it.
	if c.WebhookURL == "" {
		errs = append(errs, errors.New("webhook_url: must be set"))
	} else if u, err := url.Parse(string(c.WebhookURL)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("webhook_url: must be an absolute http(s) URL"))
	}
	if c.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("endpoint: not used by slack; set webhook_url instead"))
	}
	return errors.Join(errs...)
}

// Validate checks the pagerduty block.
func (c *PagerDutyConfig) Validate() error {
	var errs []error
	if c.RoutingKey == "" {
		errs = append(errs, errors.New("routing_key: must be set"))
	}
	if err := validateHTTPURL("endpoint", c.ClientConfig.Endpoint); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate checks the webhook block.
func (c *WebhookConfig) Validate() error {
	return validateHTTPURL("endpoint", c.ClientConfig.Endpoint)
}

func validateHTTPURL(key, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s: must be set", key)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an absolute http(s) URL", key, redactURL(raw))
	}
	return nil
}
