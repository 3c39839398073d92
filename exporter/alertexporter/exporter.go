// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter/internal/metadata"
)

type alertExporter struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time
	groups    *groupTracker
	targets   []target
	// targetAttrs are the per-target telemetry attribute sets, built once.
	targetAttrs map[string]metric.MeasurementOption
}

func newAlertExporter(cfg *Config, set exporter.Settings) (*alertExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &alertExporter{
		cfg:         cfg,
		logger:      set.Logger,
		telemetry:   tb,
		now:         time.Now,
		groups:      newGroupTracker(cfg.RepeatInterval, maxTrackedGroups),
		targetAttrs: map[string]metric.MeasurementOption{},
	}
	// Targets read the clock through the exporter, so a test that swaps
	// e.now after construction reaches them too.
	now := func() time.Time { return e.now() }
	if am := cfg.Alertmanager.Get(); am != nil {
		e.targets = append(e.targets, newAlertmanagerTarget(am, cfg.RepeatInterval, now))
	}
	if sl := cfg.Slack.Get(); sl != nil {
		e.targets = append(e.targets, newSlackTarget(sl, now))
	}
	if pd := cfg.PagerDuty.Get(); pd != nil {
		e.targets = append(e.targets, newPagerDutyTarget(pd, now))
	}
	if wh := cfg.Webhook.Get(); wh != nil {
		e.targets = append(e.targets, newWebhookTarget(wh, cfg.GroupBy, now))
	}
	for _, t := range e.targets {
		e.targetAttrs[t.name()] = metric.WithAttributeSet(attribute.NewSet(attribute.String("target", t.name())))
	}
	return e, nil
}

func (e *alertExporter) start(ctx context.Context, host component.Host, set component.TelemetrySettings) error {
	for _, t := range e.targets {
		if err := t.start(ctx, host, set); err != nil {
			return fmt.Errorf("%s: %w", t.name(), err)
		}
	}
	return nil
}

func (e *alertExporter) shutdown(context.Context) error {
	for _, t := range e.targets {
		t.shutdown()
	}
	e.telemetry.Shutdown()
	return nil
}

// pendingAlert is an alert with the targets it still has to reach.
type pendingAlert struct {
	*alert
	targets map[string]bool
}

// targetRun is one target's share of a batch and its outcome.
type targetRun struct {
	target target
	alerts []*pendingAlert
	errs   []error
}

// pushLogs turns the findings of a batch into alerts and delivers each to
// every target. Targets that fail transiently are retried by exporterhelper
// with only the alerts they are missing (consumererror.Logs carries them,
// marked with their pending targets), so one target's outage or permanent
// refusal never makes another target receive an alert twice.
func (e *alertExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	alerts := e.collect(ctx, ld)
	if len(alerts) == 0 {
		return nil
	}

	runs := make([]*targetRun, 0, len(e.targets))
	for _, t := range e.targets {
		run := &targetRun{target: t}
		for _, a := range alerts {
			if a.targets[t.name()] {
				run.alerts = append(run.alerts, a)
			}
		}
		if len(run.alerts) > 0 {
			runs = append(runs, run)
		}
	}
	// Targets are delivered in parallel so a slow or hanging one does not
	// eat the others' share of the attempt's timeout.
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Go(func() {
			plain := make([]*alert, len(run.alerts))
			for i, a := range run.alerts {
				plain[i] = a.alert
			}
			run.errs = run.target.deliver(ctx, plain)
		})
	}
	wg.Wait()

	var permanentErrs, retryErrs []error
	var throttle time.Duration
	for _, run := range runs {
		name := run.target.name()
		sent, dropped := 0, 0
		var firstPermanent, firstRetry error
		for i, err := range run.errs {
			switch {
			case err == nil:
				delete(run.alerts[i].targets, name)
				sent++
			case isPermanent(err):
				delete(run.alerts[i].targets, name)
				dropped++
				if firstPermanent == nil {
					firstPermanent = err
				}
			default:
				if firstRetry == nil {
					firstRetry = err
				}
				var de *deliveryError
				if errors.As(err, &de) {
					throttle = max(throttle, de.RetryAfter)
				}
			}
		}
		attrs := e.targetAttrs[name]
		if sent > 0 {
			e.telemetry.ExporterAlertNotificationsSent.Add(ctx, int64(sent), attrs)
		}
		if dropped > 0 {
			e.telemetry.ExporterAlertNotificationsDropped.Add(ctx, int64(dropped), attrs)
			// The answer says why (bad routing key, archived channel,
			// oversized payload); without it the drop cannot be fixed.
			e.logger.Error("Alert target refused notifications permanently; dropping them",
				zap.String("target", name), zap.Int("dropped", dropped), zap.Error(firstPermanent))
			permanentErrs = append(permanentErrs, firstPermanent)
		}
		if firstRetry != nil {
			retryErrs = append(retryErrs, firstRetry)
		}
	}

	if len(retryErrs) > 0 {
		err := errors.Join(retryErrs...)
		if throttle > 0 {
			err = exporterhelper.NewThrottleRetry(err, throttle)
		}
		return consumererror.NewLogs(err, e.pendingLogs(alerts))
	}
	if len(permanentErrs) > 0 {
		return consumererror.NewPermanent(errors.Join(permanentErrs...))
	}
	return nil
}

// collect extracts the alerts of a batch. Fresh findings go through the
// severity filter and repeat_interval; records coming back from a retry
// already passed both and carry their pending targets.
func (e *alertExporter) collect(ctx context.Context, ld plog.Logs) []*pendingAlert {
	var alerts []*pendingAlert
	var belowSeverity, dryRun, suppressed, invalid, untracked int64
	var invalidSample string
	receivedAt := e.now().UTC()

	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if !isFinding(lr) {
					continue
				}
				if p, ok := e.resumeRetry(rl.Resource(), sl.Scope(), lr); ok {
					alerts = append(alerts, p)
					continue
				}
				f := parseFinding(rl.Resource(), sl.Scope(), lr)
				if f.RuleID == "" {
					if invalid == 0 {
						invalidSample = f.Summary
					}
					invalid++
					continue
				}
				// A dry_run rule is being evaluated, not trusted: its
				// findings must not page anyone.
				if f.Mode == modeDryRun {
					dryRun++
					continue
				}
				if !f.Severity.atLeast(e.cfg.MinSeverity) {
					belowSeverity++
					continue
				}
				values := groupValues(e.cfg.GroupBy, rl.Resource(), lr)
				decision := e.groups.offer(groupKey(values), receivedAt)
				if decision.Untracked {
					untracked++
				}
				if !decision.Notify {
					suppressed++
					continue
				}
				alerts = append(alerts, &pendingAlert{
					alert: &alert{
						finding:     f,
						ReceivedAt:  receivedAt,
						Suppressed:  decision.Suppressed,
						GroupValues: values,
					},
					targets: e.allTargets(),
				})
			}
		}
	}
	if invalid > 0 {
		e.telemetry.ExporterAlertFindingsInvalid.Add(ctx, invalid)
		// One line per batch, not per record: a misconfigured producer
		// must not flood the log.
		e.logger.Warn("Skipping findings without a rule id",
			zap.String("attribute", attrRuleID), zap.Int64("findings", invalid),
			zap.String("first_body", truncateRunes(invalidSample, 200)))
	}
	if dryRun > 0 {
		e.telemetry.ExporterAlertFindingsDryRun.Add(ctx, dryRun)
	}
	if belowSeverity > 0 {
		e.telemetry.ExporterAlertFindingsBelowSeverity.Add(ctx, belowSeverity)
	}
	if suppressed > 0 {
		e.telemetry.ExporterAlertFindingsSuppressed.Add(ctx, suppressed)
	}
	if untracked > 0 {
		e.telemetry.ExporterAlertGroupsUntracked.Add(ctx, untracked)
		e.logger.Warn("Alert group table is full; findings sent without repeat suppression",
			zap.Int("max_groups", maxTrackedGroups), zap.Int64("findings", untracked))
	}
	return alerts
}

func (e *alertExporter) allTargets() map[string]bool {
	m := make(map[string]bool, len(e.targets))
	for _, t := range e.targets {
		m[t.name()] = true
	}
	return m
}
