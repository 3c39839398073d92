// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/engine"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
)

type anomalyProcessor struct {
	cfg      *Config
	set      processor.Settings
	logger   *zap.Logger
	compiled *engine.Compiled // for the first start; later starts recompile
	tb       *metadata.TelemetryBuilder

	mu sync.Mutex // guards client and the flush loop across Start/Shutdown
	// eng is read without mu: the gauge callbacks run on the metric reader's
	// goroutine and must not wait for a Shutdown that unregisters them.
	eng     atomic.Pointer[engine.Engine]
	client  storage.Client
	cancel  context.CancelFunc
	done    chan struct{}
	flushMu sync.Mutex

	handoff       *handoffStore // nil when handoff is off
	handoffMu     sync.Mutex    // one handoff write at a time
	handoffCancel context.CancelFunc
	handoffDone   chan struct{}
}

func newAnomalyProcessor(cfg *Config, set processor.Settings) (*anomalyProcessor, error) {
	compiled, err := cfg.compile(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &anomalyProcessor{cfg: cfg, set: set, logger: set.Logger, compiled: compiled, tb: tb}
	// Until Start, records are evaluated by an engine without storage.
	fresh, err := cfg.compile(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p.eng.Store(engine.New(fresh, telemetryObserver{tb: tb}, set.Logger))
	return p, nil
}

// registerGauges registers the asynchronous gauges; Shutdown unregisters
// them (TelemetryBuilder.Shutdown), so a restarted processor registers again.
func (p *anomalyProcessor) registerGauges() error {
	return errors.Join(
		p.tb.RegisterAccessAnomalyEntitiesTrackedCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(p.engine().EntityCount()))
			return nil
		}),
		p.tb.RegisterAccessAnomalyStateBytesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(p.engine().StateBytes())
			return nil
		}),
		p.tb.RegisterAccessAnomalySuppressionWindowsCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(p.engine().SuppressionWindows()))
			return nil
		}),
	)
}

func (p *anomalyProcessor) engine() *engine.Engine { return p.eng.Load() }

// start resolves the storage client, restores the persisted state and
// starts the write-behind loop.
func (p *anomalyProcessor) start(ctx context.Context, host component.Host) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Compiled rules carry the engine's mutable state (entities, learning
	// clocks, condition caches): every start gets a fresh compilation, so a
	// restarted processor holds only what it restores from storage.
	compiled := p.compiled
	p.compiled = nil
	if compiled == nil {
		var err error
		if compiled, err = p.cfg.compile(p.set.TelemetrySettings); err != nil {
			return err
		}
	}
	eng := engine.New(compiled, telemetryObserver{tb: p.tb}, p.logger)
	client := storage.NewNopClient()
	if p.cfg.StorageID != nil {
		ext, ok := host.GetExtensions()[*p.cfg.StorageID]
		if !ok {
			return fmt.Errorf("storage: extension %q not found", p.cfg.StorageID)
		}
		se, ok := ext.(storage.Extension)
		if !ok {
			return fmt.Errorf("storage: extension %q is not a storage extension", p.cfg.StorageID)
		}
		var err error
		if client, err = se.GetClient(ctx, component.KindProcessor, p.set.ID, ""); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		get := func(key string) ([]byte, error) { return client.Get(ctx, key) }
		var walk func(func(string, []byte) error) error
		if w, ok := client.(storage.Walker); ok {
			walk = func(fn func(string, []byte) error) error {
				return w.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
					return nil, fn(key, append([]byte(nil), value...))
				})
			}
		} else {
			p.logger.Warn("access_anomaly: the storage extension cannot list its keys; open suppression windows are not restored after a restart, and entities are read when first seen", zap.String("storage", p.cfg.StorageID.String()))
		}
		if err := eng.Restore(get, walk); err != nil {
			p.tb.AccessAnomalyStorageErrors.Add(ctx, 1)
			p.logger.Warn("access_anomaly: could not restore state; starting with empty baselines (learning restarts)", zap.Error(err))
		}
		eng.SetLoader(client.Get, func() { p.tb.AccessAnomalyStorageErrors.Add(context.Background(), 1) })
		p.logger.Info("access_anomaly: state restored", zap.Int("entities", eng.EntityCount()))
	}
	if p.cfg.Handoff.Directory != "" {
		p.startHandoff(eng)
	}
	p.eng.Store(eng)
	p.client = client
	if p.cfg.StorageID != nil {
		loopCtx, cancel := context.WithCancel(context.Background())
		p.cancel, p.done = cancel, make(chan struct{})
		go runEvery(loopCtx, p.cfg.State.FlushInterval, p.done, func() { p.flush(loopCtx, eng, client) })
	}
	return p.registerGauges()
}

// startHandoff connects the engine to the handoff directory. An unusable
// directory is reported, not fatal: detection works without handoff, and
// a volume mounted late is picked up by the next write.
func (p *anomalyProcessor) startHandoff(eng *engine.Engine) {
	store := newHandoffStore(p.cfg, p.logger, p.tb)
	if err := os.MkdirAll(store.dir, 0o770); err != nil {
		store.failed(handoffOpWrite, 1, err)
	}
	eng.SetHandoff(store.load, p.cfg.Handoff.Interval,
		func() { p.tb.AccessAnomalyHandoffLoads.Add(context.Background(), 1) },
		func(identity string, err error) {
			store.failed(handoffOpLoad, 1, fmt.Errorf("identity %q: %w", identity, err))
		})
	p.handoff = store
	ctx, cancel := context.WithCancel(context.Background())
	p.handoffCancel, p.handoffDone = cancel, make(chan struct{})
	// Writes every interval the identities changed since the previous write, so that an
	// instance joining while the owners keep running finds snapshots at most one interval old.
	go runEvery(ctx, p.cfg.Handoff.Interval, p.handoffDone, func() { p.writeHandoff(ctx, eng, true) })
	p.logger.Info("access_anomaly: state handoff enabled", zap.String("directory", store.dir), zap.Duration("interval", p.cfg.Handoff.Interval))
}

// runEvery calls fn every interval until ctx ends, then closes done.
func runEvery(ctx context.Context, interval time.Duration, done chan struct{}, fn func()) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// flush writes changed state in one batch; on failure everything is marked
// dirty again so the next flush retries it.
func (p *anomalyProcessor) flush(ctx context.Context, eng *engine.Engine, client storage.Client) {
	if p.cfg.StorageID == nil {
		return
	}
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	writes := eng.Snapshot()
	if len(writes) == 0 {
		return
	}
	ops := make([]*storage.Operation, 0, len(writes))
	for _, w := range writes {
		if w.Value == nil {
			ops = append(ops, storage.DeleteOperation(w.Key))
		} else {
			ops = append(ops, storage.SetOperation(w.Key, w.Value))
		}
	}
	if err := client.Batch(ctx, ops...); err != nil {
		p.tb.AccessAnomalyStorageErrors.Add(ctx, 1)
		p.logger.Warn("access_anomaly: writing state failed; will retry", zap.Int("operations", len(ops)), zap.Error(err))
		eng.MarkAllDirty(writes)
	}
}

// shutdown stops the write-behind loop, writes the remaining state and
// closes the storage client. Safe without a prior start.
func (p *anomalyProcessor) shutdown(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.tb.Shutdown()
	if p.cancel != nil {
		p.cancel()
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.cancel, p.done = nil, nil
	}
	if p.handoffCancel != nil {
		p.handoffCancel()
		select {
		case <-p.handoffDone:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.handoffCancel, p.handoffDone = nil, nil
		// The next owner of every identity changed since the last periodic
		// write reads this.
		p.writeHandoff(ctx, p.engine(), false)
		p.handoff = nil
	}
	if p.client == nil {
		return nil
	}
	p.flush(ctx, p.engine(), p.client)
	err := p.client.Close(ctx)
	p.client = nil
	return err
}

func (p *anomalyProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	start := time.Now()
	eng := p.engine()
	findings := eng.Process(ctx, ld, start)
	emitFindings(ld, findings, p.cfg.Emit, start)
	p.tb.AccessAnomalyEvaluationDuration.Record(ctx, time.Since(start).Seconds())
	return ld, nil
}
