package databricksauditreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadata"
)

// pollSource is one of the three sources: it loads its checkpoint, then polls.
type pollSource interface {
	load(ctx context.Context) error
	poll(ctx context.Context) error
	checkpointLag(now time.Time) (time.Duration, bool)
}

// auditReceiver runs one source's poll loop: poll, wait poll_interval, poll again. Polls never
// overlap, so at most one statement or listing is in flight.
type auditReceiver struct {
	cfg  *Config
	set  receiver.Settings
	next consumer.Logs
	obs  *receiverhelper.ObsReport

	// Replaceable in tests.
	openBucket     bucketOpener
	newClient      func(cfg databricks.ClientConfig, logger *zap.Logger) (auditQuerier, func() databricks.Stats, func(), error)
	now            func() time.Time
	initialBackoff time.Duration
	maxBackoff     time.Duration
	batchSize      int

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	telemetry *metadata.TelemetryBuilder
	store     *checkpointStore
	closers   []func() error
}

func newAuditReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*auditReceiver, error) {
	transport := "http"
	if cfg.Source != sourceSystemTable {
		if u, err := url.Parse(cfg.objectConfig().URL); err == nil && u.Scheme != "" {
			transport = u.Scheme
		}
	}
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: transport, ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &auditReceiver{
		cfg: cfg, set: set, next: next, obs: obs,
		openBucket:     openBucket,
		newClient:      newDatabricksClient,
		now:            time.Now,
		initialBackoff: defaultInitialBackoff,
		maxBackoff:     defaultMaxBackoff,
		batchSize:      defaultBatchSize,
	}, nil
}

func newDatabricksClient(cfg databricks.ClientConfig, logger *zap.Logger) (auditQuerier, func() databricks.Stats, func(), error) {
	c, err := databricks.New(cfg, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, c.Stats, c.Close, nil
}

// Start builds the source (client or bucket, checkpoint) and starts the poll loop. It does
// not block and keeps nothing of ctx beyond its own return.
func (r *auditReceiver) Start(ctx context.Context, host component.Host) error {
	logger := r.set.Logger
	tb, err := metadata.NewTelemetryBuilder(r.set.TelemetrySettings)
	if err != nil {
		return err
	}
	r.telemetry = tb
	store, err := newCheckpointStore(ctx, host, r.cfg.StorageID, r.set.ID)
	if err != nil {
		return err
	}
	r.store = store
	if r.cfg.StorageID == nil {
		switch r.cfg.Source {
		case sourceSystemTable:
			logger.Warn("No storage extension configured: a restart re-reads system_table.initial_lookback and emits those events again",
				zap.Duration("initial_lookback", r.cfg.SystemTable.InitialLookback))
		default:
			logger.Warn("No storage extension configured: a restart re-reads every object modified within the retention window and emits its events again",
				zap.Duration("retention", r.cfg.objectConfig().Retention))
		}
	}
	d := &deliverer{
		next: r.next, obs: r.obs, telemetry: tb, logger: logger, format: r.cfg.Source,
		initialBackoff: r.initialBackoff, maxBackoff: r.maxBackoff,
	}
	parser := auditlog.NewParser()
	parser.Now = r.now
	parser.StringBody = r.cfg.BodyFormat == bodyFormatString
	batch := auditlog.NewBatch(parser, metadata.ScopeName, r.set.BuildInfo.Version)

	var src pollSource
	var interval time.Duration
	var stats func() databricks.Stats
	var tracked func() int64
	switch r.cfg.Source {
	case sourceSystemTable:
		client, statsFn, closeFn, err := r.newClient(r.cfg.ClientConfig, logger)
		if err != nil {
			return fmt.Errorf("databricks client: %w", err)
		}
		r.closers = append(r.closers, func() error { closeFn(); return nil })
		stats = statsFn
		parser.CloudProvider = cloudProviderOfEndpoint(r.cfg.Endpoint)
		src = &tableSource{
			cfg: r.cfg.SystemTable, client: client, store: store, deliverer: d, telemetry: tb,
			logger: logger, batch: batch, batchSize: r.batchSize, now: r.now,
		}
		interval = r.cfg.SystemTable.PollInterval
	default:
		oc := r.cfg.objectConfig()
		bucket, closeFn, err := r.openBucket(ctx, oc.URL)
		if err != nil {
			return fmt.Errorf("%s.url: opening bucket: %w", r.cfg.Source, err)
		}
		r.closers = append(r.closers, closeFn)
		parser.CloudProvider = cloudProviderOf(oc.URL)
		source := auditlog.SourceDelivery
		if r.cfg.Source == sourceAzureDiagnostics {
			source = auditlog.SourceAzureDiagnostics
		}
		objects := &objectSource{
			source: source, cfg: oc, bucket: bucket, store: store, deliverer: d, telemetry: tb,
			logger: logger, batch: batch, batchSize: r.batchSize, now: r.now,
		}
		tracked = objects.tracked.Load
		src = objects
		interval = oc.PollInterval
	}
	if err := r.registerGauges(src, stats, tracked); err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go r.run(runCtx, host, src, interval)
	return nil
}

func (r *auditReceiver) registerGauges(src pollSource, stats func() databricks.Stats, tracked func() int64) error {
	tb := r.telemetry
	errs := []error{tb.RegisterDatabricksAuditCheckpointLagCallback(func(_ context.Context, o metric.Float64Observer) error {
		if lag, ok := src.checkpointLag(r.now()); ok {
			o.Observe(lag.Seconds())
		}
		return nil
	})}
	if stats != nil {
		errs = append(errs,
			tb.RegisterDatabricksAuditAPIRequestsCallback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(stats().Requests)
				return nil
			}),
			tb.RegisterDatabricksAuditAPIThrottlesCallback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(stats().Throttles)
				return nil
			}),
			// Read from the client's own counters at collection time: a failure the retries
			// absorbed fails no poll, and the client warns of it at most once per kind every 30 s.
			tb.RegisterDatabricksAuditAPIErrorsCallback(func(_ context.Context, o metric.Int64Observer) error {
				databricks.ObserveByClass(o, stats().ErrorsByClass)
				return nil
			}),
			tb.RegisterDatabricksAuditAPIRetriesCallback(func(_ context.Context, o metric.Int64Observer) error {
				databricks.ObserveByClass(o, stats().RetriesByClass)
				return nil
			}))
	}
	if tracked != nil {
		errs = append(errs, tb.RegisterDatabricksAuditObjectsTrackedCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(tracked())
			return nil
		}))
	}
	return errors.Join(errs...)
}

func (r *auditReceiver) run(ctx context.Context, host component.Host, src pollSource, interval time.Duration) {
	defer r.wg.Done()
	logger := r.set.Logger
	if err := src.load(ctx); err != nil {
		// A checkpoint that cannot be read must not silently restart from scratch (that
		// would emit initial_lookback again): stop this receiver and say why.
		logger.Error("Cannot read the checkpoint; the receiver stops", zap.Error(err))
		componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(fmt.Errorf("reading checkpoint: %w", err)))
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := src.poll(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("Poll failed; retrying at the next poll interval", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Shutdown stops the poll loop (cancelling a running statement or read) and waits for it
// within ctx's deadline.
func (r *auditReceiver) Shutdown(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	for _, c := range r.closers {
		if c != nil {
			errs = append(errs, c())
		}
	}
	r.closers = nil
	if r.store != nil {
		errs = append(errs, r.store.close(ctx))
		r.store = nil
	}
	if r.telemetry != nil {
		r.telemetry.Shutdown()
		r.telemetry = nil
	}
	return errors.Join(errs...)
}

// cloudProviderOfEndpoint reads the cloud off the workspace host name.
func cloudProviderOfEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case strings.HasSuffix(host, ".azuredatabricks.net"):
		return auditlog.CloudAzure
	case strings.HasSuffix(host, ".gcp.databricks.com"):
		return auditlog.CloudGCP
	case strings.HasSuffix(host, ".cloud.databricks.com"):
		return auditlog.CloudAWS
	}
	return ""
}
