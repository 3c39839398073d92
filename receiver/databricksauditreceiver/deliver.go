package databricksauditreceiver

import (
	"context"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadata"
)

// deliverer hands batches to the next consumer. A refused batch is offered again, the same
// batch, with exponential backoff until it is accepted or the receiver stops: audit records
// are evidence, so none is dropped to make progress, and the caller advances its checkpoint
// only after deliver returned nil.
type deliverer struct {
	next      consumer.Logs
	obs       *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	format    string
	// initialBackoff doubles after every refusal up to maxBackoff.
	initialBackoff, maxBackoff time.Duration
}

const (
	defaultInitialBackoff = time.Second
	defaultMaxBackoff     = 30 * time.Second
)

// deliver returns nil once the next consumer accepted ld, or ctx's error when the receiver
// stops first.
func (d *deliverer) deliver(ctx context.Context, ld plog.Logs) error {
	count := ld.LogRecordCount()
	if count == 0 {
		return nil
	}
	backoff := d.initialBackoff
	for attempt := 1; ; attempt++ {
		opCtx := d.obs.StartLogsOp(ctx)
		err := d.next.ConsumeLogs(opCtx, ld)
		d.obs.EndLogsOp(opCtx, d.format, count, err)
		if err == nil {
			d.telemetry.DatabricksAuditRecordsEmitted.Add(ctx, int64(count))
			return nil
		}
		// Jitter keeps several instances refused by one memory_limiter from retrying in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		d.logger.Warn("Next consumer refused audit records; retrying the same batch",
			zap.Int("records", count), zap.Int("attempt", attempt), zap.Duration("retry_in", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(backoff*2, d.maxBackoff)
	}
}
