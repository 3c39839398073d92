package databricksauditreceiver

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadata"
)

// auditQuerier is the part of the Databricks client the system-table source uses.
type auditQuerier interface {
	QueryAudit(ctx context.Context, q databricks.AuditQuery, fn func(rows []databricks.AuditRow, bad []databricks.RowError) error) error
}

// tableCheckpoint is what the system-table source persists.
type tableCheckpoint struct {
	// Watermark: every row with event_time < Watermark has been emitted (as far as the table
	// held it when read). Zero before the first poll.
	Watermark time.Time `json:"watermark"`
	// CatchingUp: the last poll stopped at max_rows_per_poll (or the receiver stopped
	// mid-poll), so the next poll starts at Watermark exactly instead of Watermark - overlap.
	CatchingUp bool `json:"catching_up"`
	// Seen holds the event_ids (with their event_time, unix ms) that the next poll can
	// return again: those at or after its start. Bounded by the rows of one overlap window.
	Seen map[string]int64 `json:"seen"`
}

// tableSource polls system.access.audit: one statement per poll (never two in flight, the
// poll loop is sequential), a window [from, to) that re-reads the overlap for late rows,
// and an event_id set that drops what the overlap returns again.
type tableSource struct {
	cfg       SystemTableConfig
	client    auditQuerier
	store     *checkpointStore
	deliverer *deliverer
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	batch     *auditlog.Batch
	batchSize int
	now       func() time.Time

	state     tableCheckpoint
	watermark atomic.Int64 // unix nanoseconds, for the checkpoint-lag gauge
}

func (s *tableSource) load(ctx context.Context) error {
	s.state = tableCheckpoint{}
	found, err := s.store.load(ctx, &s.state)
	if err != nil {
		return err
	}
	if s.state.Seen == nil {
		s.state.Seen = map[string]int64{}
	}
	if found {
		s.logger.Info("Resuming from checkpoint", zap.Time("watermark", s.state.Watermark),
			zap.Bool("catching_up", s.state.CatchingUp), zap.Int("event_ids_remembered", len(s.state.Seen)))
	}
	s.publish()
	return nil
}

func (s *tableSource) publish() {
	if !s.state.Watermark.IsZero() {
		s.watermark.Store(s.state.Watermark.UnixNano())
	}
}

func (s *tableSource) checkpointLag(now time.Time) (time.Duration, bool) {
	return lagSince(now, s.watermark.Load())
}

// window returns the time range of the next poll.
func (s *tableSource) window(now time.Time) (from, to time.Time) {
	to = now.Add(-s.cfg.Delay).Truncate(time.Millisecond)
	switch {
	case s.state.Watermark.IsZero():
		from = now.Add(-s.cfg.InitialLookback)
	case s.state.CatchingUp:
		from = s.state.Watermark
	default:
		from = s.state.Watermark.Add(-s.cfg.Overlap)
	}
	return from.Truncate(time.Millisecond), to
}

type pendingID struct {
	id string
	t  time.Time
}

func (s *tableSource) poll(ctx context.Context) error {
	from, to := s.window(s.now())
	if !from.Before(to) {
		return nil
	}
	var (
		total    int // rows returned, bad ones included: LIMIT counts them too
		last     time.Time
		pending  []pendingID
		inBatch  = map[string]bool{}
		badCount int
	)
	flush := func() error {
		if s.batch.Len() == 0 {
			return nil
		}
		if err := s.deliverer.deliver(ctx, s.batch.Take()); err != nil {
			return err
		}
		for _, p := range pending {
			s.state.Seen[p.id] = p.t.UnixMilli()
		}
		pending = pending[:0]
		clear(inBatch)
		if last.After(s.state.Watermark) {
			// Rows arrive in event_time order, so everything before last has been emitted.
			s.state.Watermark, s.state.CatchingUp = last, true
		}
		s.publish()
		return s.store.save(ctx, &s.state)
	}
	q := databricks.AuditQuery{Table: s.cfg.Table, WarehouseID: s.cfg.WarehouseID, From: from, To: to, Limit: s.cfg.MaxRowsPerPoll}
	err := s.client.QueryAudit(ctx, q, func(rows []databricks.AuditRow, bad []databricks.RowError) error {
		total += len(rows) + len(bad)
		s.telemetry.DatabricksAuditRecordsRead.Add(ctx, int64(len(rows)+len(bad)))
		if len(bad) > 0 {
			if badCount == 0 {
				s.logger.Warn("Skipping audit rows that cannot be decoded; further ones in this poll are only counted",
					zap.Int("row", total-len(rows)-len(bad)+bad[0].Index), zap.Error(bad[0].Err))
			}
			badCount += len(bad)
			s.telemetry.DatabricksAuditRecordsRejected.Add(ctx, int64(len(bad)))
		}
		var dups int64
		for i := range rows {
			row := &rows[i]
			last = row.EventTime
			if _, seen := s.state.Seen[row.EventID]; seen || inBatch[row.EventID] {
				dups++
				continue
			}
			s.batch.AppendAuditRow(row)
			inBatch[row.EventID] = true
			pending = append(pending, pendingID{id: row.EventID, t: row.EventTime})
			if s.batch.Len() >= s.batchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if dups > 0 {
			s.telemetry.DatabricksAuditDuplicatesDropped.Add(ctx, dups)
		}
		return nil
	})
	if err != nil {
		// Rows already delivered stay checkpointed; the rest is read again next poll.
		_ = s.batch.Take()
		return fmt.Errorf("querying %s: %w", s.cfg.Table, err)
	}
	if err := flush(); err != nil {
		return err
	}
	if badCount > 1 {
		s.logger.Warn("Skipped audit rows that could not be decoded", zap.Int("count", badCount))
	}
	s.advance(from, to, total, last)
	s.publish()
	return s.store.save(ctx, &s.state)
}

// advance moves the watermark after a complete poll and forgets event ids the next poll
// cannot return.
func (s *tableSource) advance(from, to time.Time, total int, last time.Time) {
	if total >= s.cfg.MaxRowsPerPoll {
		// A full page: continue from the last event_time read, no gap. Rows at that instant
		// already emitted are dropped by event_id.
		if !last.After(from) {
			// More than max_rows_per_poll rows share one millisecond: step past it rather
			// than read the same page forever.
			last = from.Add(time.Millisecond)
			s.logger.Error("max_rows_per_poll rows share one event_time; skipping past it. Raise system_table.max_rows_per_poll",
				zap.Time("event_time", from), zap.Int("max_rows_per_poll", s.cfg.MaxRowsPerPoll))
		}
		if last.After(s.state.Watermark) {
			s.state.Watermark = last
		}
		s.state.CatchingUp = true
	} else {
		s.state.Watermark, s.state.CatchingUp = to, false
	}
	nextFrom, _ := s.window(s.now())
	cutoff := nextFrom.UnixMilli()
	for id, ms := range s.state.Seen {
		if ms < cutoff {
			delete(s.state.Seen, id)
		}
	}
}
