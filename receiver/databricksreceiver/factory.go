// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// NewFactory returns the factory of the databricks receiver (metrics and logs).
func NewFactory() receiver.Factory {
	return newFactory(factoryOptions{newAPI: newClientAPI})
}

func newFactory(opts factoryOptions) receiver.Factory {
	shared := &sharedReceivers{byID: map[*Config]*databricksReceiver{}}
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithMetrics(func(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
			r := shared.getOrCreate(cfg.(*Config), opts)
			r.attachMetrics(set, next)
			return r, nil
		}, metadata.MetricsStability),
		receiver.WithLogs(func(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
			r := shared.getOrCreate(cfg.(*Config), opts)
			r.attachLogs(set, next)
			return r, nil
		}, metadata.LogsStability),
	)
}
