// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/engine"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
)

// telemetryObserver turns engine events into the mdatagen self-telemetry.
type telemetryObserver struct {
	tb *metadata.TelemetryBuilder
}

var _ engine.Observer = telemetryObserver{}

func (o telemetryObserver) Finding(f *engine.Finding) {
	o.tb.AccessAnomalyFindings.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("rule", f.RuleID),
		attribute.String("severity", f.Severity),
		attribute.String("mode", f.Mode),
	))
}

func (o telemetryObserver) Suppressed(rule string) {
	o.tb.AccessAnomalyFindingsSuppressed.Add(context.Background(), 1, metric.WithAttributes(attribute.String("rule", rule)))
}

func (o telemetryObserver) Evicted(reason string) {
	o.tb.AccessAnomalyEntitiesEvicted.Add(context.Background(), 1, metric.WithAttributes(attribute.String("reason", reason)))
}

func (o telemetryObserver) Late() { o.tb.AccessAnomalyRecordsLate.Add(context.Background(), 1) }

func (o telemetryObserver) FutureClamped() {
	o.tb.AccessAnomalyRecordsFutureClamped.Add(context.Background(), 1)
}

func (o telemetryObserver) Rejected() { o.tb.AccessAnomalyRecordsRejected.Add(context.Background(), 1) }
