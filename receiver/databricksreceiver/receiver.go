// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// databricksReceiver is shared by the metrics and the logs pipeline of one configured instance
// (see shared.go): one poller, one client, one set of cursors, so enabling logs costs no extra
// API calls and cursors cannot race. Both signals come from the same collection cycle, which
// runs under the collector's scraper controller.
type databricksReceiver struct {
	cfg     *Config
	opts    factoryOptions
	release func() // removes this instance from the shared registry

	mu          sync.Mutex
	settings    *receiver.Settings // of the first pipeline that created it
	nextMetrics consumer.Metrics
	nextLogs    consumer.Logs

	startOnce    sync.Once
	startErr     error
	shutdownOnce sync.Once
	controller   receiver.Metrics
	api          workspaceAPI
	storage      storage.Client
	telemetry    *metadata.TelemetryBuilder
	cancelRun    context.CancelFunc
}

func (r *databricksReceiver) attachMetrics(set receiver.Settings, next consumer.Metrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.settings == nil {
		r.settings = &set
	}
	r.nextMetrics = next
}

func (r *databricksReceiver) attachLogs(set receiver.Settings, next consumer.Logs) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.settings == nil {
		r.settings = &set
	}
	r.nextLogs = next
}

// Start builds the client, opens storage and starts the scraper controller; it runs once even
// though both pipelines call it.
func (r *databricksReceiver) Start(ctx context.Context, host component.Host) error {
	r.startOnce.Do(func() { r.startErr = r.start(ctx, host) })
	return r.startErr
}

func (r *databricksReceiver) start(ctx context.Context, host component.Host) error {
	r.mu.Lock()
	set, nextMetrics, nextLogs := *r.settings, r.nextMetrics, r.nextLogs
	r.mu.Unlock()

	api, err := r.opts.newAPI(r.cfg, set.Logger)
	if err != nil {
		return fmt.Errorf("databricks client: %w", err)
	}
	r.api = api
	r.storage, err = openStorage(ctx, host, r.cfg.StorageID, set.ID)
	if err != nil {
		return err
	}
	r.telemetry, err = metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return err
	}
	// Read from the client's own counters at collection time: a failure the retries absorbed
	// fails no source, and the client warns of it at most once per kind every 30 s.
	err = errors.Join(
		r.telemetry.RegisterDatabricksAPIErrorsCallback(func(_ context.Context, o metric.Int64Observer) error {
			databricks.ObserveByClass(o, api.Stats().ErrorsByClass)
			return nil
		}),
		r.telemetry.RegisterDatabricksAPIRetriesCallback(func(_ context.Context, o metric.Int64Observer) error {
			databricks.ObserveByClass(o, api.Stats().RetriesByClass)
			return nil
		}))
	if err != nil {
		return err
	}
	obsLogs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancelRun = cancel
	s := newDBXScraper(scraperParams{
		cfg: r.cfg, settings: set, api: api, storage: r.storage, logs: nextLogs,
		obsLogs: obsLogs, telemetry: r.telemetry, now: r.opts.now, runCtx: runCtx,
	})
	if err = s.loadState(ctx); err != nil {
		return err
	}
	sc, err := scraper.NewMetrics(s.scrape)
	if err != nil {
		return err
	}
	if nextMetrics == nil {
		// Logs-only pipelines still need the controller's ticks; the metrics go nowhere.
		nextMetrics = discardMetrics{}
	}
	ctrlCfg := scraperhelper.NewDefaultControllerConfig()
	ctrlCfg.CollectionInterval = r.cfg.CollectionInterval
	ctrlCfg.InitialDelay = r.cfg.InitialDelay
	var ctrlOpts []scraperhelper.ControllerOption
	ctrlOpts = append(ctrlOpts, scraperhelper.AddMetricsScraper(metadata.Type, sc))
	if r.opts.tickerCh != nil {
		ctrlOpts = append(ctrlOpts, scraperhelper.WithTickerChannel(r.opts.tickerCh))
	}
	// The controller does not tell its scraper whether the pipeline took the metrics; the
	// system-table watermarks must not advance past rows that were refused.
	acked := acknowledgedMetrics{next: nextMetrics, delivered: s.metricsDelivered}
	r.controller, err = scraperhelper.NewMetricsController(&ctrlCfg, set, acked, ctrlOpts...)
	if err != nil {
		return err
	}
	return r.controller.Start(ctx, host)
}

// Shutdown stops the controller and releases storage; safe without Start and when called by
// both pipelines.
func (r *databricksReceiver) Shutdown(ctx context.Context) error {
	var err error
	r.shutdownOnce.Do(func() {
		r.release()
		if r.cancelRun != nil {
			r.cancelRun()
		}
		if r.controller != nil {
			err = errors.Join(err, r.controller.Shutdown(ctx))
		}
		if r.storage != nil {
			err = errors.Join(err, r.storage.Close(ctx))
		}
		// Idle keep-alive connections hold goroutines; release them with the receiver.
		if c, ok := r.api.(interface{ Close() }); ok {
			c.Close()
		}
		if r.telemetry != nil {
			r.telemetry.Shutdown()
		}
	})
	return err
}

func openStorage(ctx context.Context, host component.Host, id *component.ID, owner component.ID) (storage.Client, error) {
	if id == nil {
		return storage.NewNopClient(), nil
	}
	ext, ok := host.GetExtensions()[*id]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q not found", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", id)
	}
	client, err := se.GetClient(ctx, component.KindReceiver, owner, "")
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return client, nil
}

type discardMetrics struct{}

func (discardMetrics) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (discardMetrics) ConsumeMetrics(context.Context, pmetric.Metrics) error { return nil }

// acknowledgedMetrics hands each scrape's metrics to the pipeline and tells the scraper the
// answer. The controller calls it right after the scrape, on the scrape's goroutine.
type acknowledgedMetrics struct {
	next      consumer.Metrics
	delivered func(context.Context, error)
}

func (a acknowledgedMetrics) Capabilities() consumer.Capabilities { return a.next.Capabilities() }

func (a acknowledgedMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	err := a.next.ConsumeMetrics(ctx, md)
	a.delivered(ctx, err)
	return err
}

// factoryOptions are the seams tests use; NewFactory fills in the production values.
type factoryOptions struct {
	newAPI   func(cfg *Config, logger *zap.Logger) (workspaceAPI, error)
	tickerCh <-chan time.Time
	now      func() time.Time
}
