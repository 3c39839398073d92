// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/databricks/databricks-sdk-go/apierr"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// Source names used in failure logs and the otelcol_databricks_source_failures metric.
const (
	sourceClusters      = "clusters"
	sourceClusterEvents = "cluster_events"
	sourceJobs          = "jobs"
	sourceJobRuns       = "job_runs"
	sourceWarehouses    = "warehouses"
	sourceIdentity      = "identity"
	sourceNodeTimeline  = "node_timeline"
	sourceBilling       = "billing"
	sourceStorage       = "storage"
	sourceLogsConsumer  = "logs_consumer"
	// sourceMetricsConsumer is the metrics pipeline refusing a scrape with system-table rows.
	sourceMetricsConsumer = "metrics_consumer"
)

// failureTracker counts every failure but logs a source's failure only when its kind changes,
// and logs once when the source recovers: a workspace that throttles for an hour must not
// produce a log line per request or per scrape.
type failureTracker struct {
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	active    map[string]string // source -> failure kind currently reported
}

func newFailureTracker(logger *zap.Logger, tb *metadata.TelemetryBuilder) *failureTracker {
	return &failureTracker{logger: logger, telemetry: tb, active: map[string]string{}}
}

func (f *failureTracker) failed(ctx context.Context, source string, err error) {
	f.telemetry.DatabricksSourceFailures.Add(ctx, 1, metric.WithAttributes(attribute.String("source", source)))
	kind := failureKind(err)
	if f.active[source] == kind {
		return
	}
	f.active[source] = kind
	f.logger.Warn("Databricks source failed; its metrics are omitted until it recovers (further failures of this kind are only counted)",
		zap.String("source", source), zap.String("kind", kind), zap.Error(err))
}

func (f *failureTracker) succeeded(source string) {
	if kind, ok := f.active[source]; ok {
		delete(f.active, source)
		f.logger.Info("Databricks source recovered", zap.String("source", source), zap.String("previous_failure", kind))
	}
}

// failureKind groups errors so that e.g. a run of 429s is one kind and a following 503 another.
func failureKind(err error) string {
	var apiErr *apierr.APIError
	switch {
	case errors.As(err, &apiErr):
		return "http_" + strconv.Itoa(apiErr.StatusCode)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return "network"
	}
	return "error"
}
