// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
)

// target delivers alerts to one destination.
type target interface {
	// name is the target's config key; it names the target in logs,
	// telemetry and the retry bookkeeping.
	name() string
	// start builds the HTTP client; it runs in the exporter's Start.
	start(ctx context.Context, host component.Host, set component.TelemetrySettings) error
	// deliver sends the alerts and returns one error (or nil) per alert.
	deliver(ctx context.Context, alerts []*alert) []error
	// shutdown releases idle connections.
	shutdown()
}

// Target names, also the config keys.
const (
	targetAlertmanager = "alertmanager"
	targetSlack        = "slack"
	targetPagerDuty    = "pagerduty"
	targetWebhook      = "webhook"
)

// sendEach posts one request per alert. After the first failure that is
// not permanent it stops and reports the same failure for the rest: the
// target is likely down or throttling, and the retry covers them all.
func sendEach(ctx context.Context, alerts []*alert, post func(context.Context, *alert) error) []error {
	errs := make([]error, len(alerts))
	for i, a := range alerts {
		err := post(ctx, a)
		errs[i] = err
		if err != nil && !isPermanent(err) {
			for j := i + 1; j < len(alerts); j++ {
				errs[j] = err
			}
			break
		}
	}
	return errs
}

func isPermanent(err error) bool {
	var de *deliveryError
	return errors.As(err, &de) && de.Permanent
}

// httpClient is the part every target shares: a confighttp client built in
// Start, so auth extensions, TLS and proxy settings apply.
type httpClient struct {
	config confighttp.ClientConfig
	client *http.Client
}

func (h *httpClient) start(ctx context.Context, host component.Host, set component.TelemetrySettings) error {
	client, err := h.config.ToClient(ctx, host.GetExtensions(), set)
	if err != nil {
		return err
	}
	h.client = client
	return nil
}

func (h *httpClient) shutdown() {
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
}
