// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"hash/fnv"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// maxCatchUp bounds how far back a query reaches after a long outage.
const maxCatchUp = 7 * 24 * time.Hour

// queryWindow returns [from, now): the lateness window, widened back to the previous query's
// upper bound after an outage so that rows published meanwhile are not skipped.
func queryWindow(st *tableState, now time.Time, window time.Duration) time.Time {
	from := now.Add(-window)
	if st.QueriedUntil > 0 {
		prev := time.UnixMilli(st.QueriedUntil)
		if prev.Before(from) {
			from = prev
		}
	}
	if earliest := now.Add(-maxCatchUp); from.Before(earliest) {
		from = earliest
	}
	return from
}

func rowHash(key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return h.Sum64()
}

// tableRead is what one scrape read from an incremental system table: the keys of the rows it
// reported and, when the query succeeded, the watermark it reached. The table's state takes
// them only once the metrics that carry those rows were accepted (metricsDelivered): a refused
// batch leaves the watermark where it was, and the next query reads the rows again.
type tableRead struct {
	state        *tableState
	key          string // storage key of state
	seen         map[uint64]int64
	queriedUntil int64 // epoch ms; 0 when the query failed
}

func newTableRead(st *tableState, key string) *tableRead {
	return &tableRead{state: st, key: key, seen: map[uint64]int64{}}
}

// fresh reports whether the row with this key was neither reported before nor read already in
// this scrape, and records it.
func (r *tableRead) fresh(h uint64, at time.Time) bool {
	if _, dup := r.state.Seen[h]; dup {
		return false
	}
	if _, dup := r.seen[h]; dup {
		return false
	}
	r.seen[h] = at.UnixMilli()
	return true
}

// finish prunes keys that can no longer be returned and, when the query succeeded, notes the
// watermark to advance to. Keys are kept for two windows because the time column the client
// filters on may differ slightly from the row time used here.
func (r *tableRead) finish(now time.Time, window time.Duration, ok bool) {
	horizon := now.Add(-2 * window).UnixMilli()
	for k, t := range r.state.Seen {
		if t < horizon {
			delete(r.state.Seen, k)
		}
	}
	if ok {
		r.queriedUntil = now.UnixMilli()
	}
}

// commit makes the read part of the table's state.
func (r *tableRead) commit() {
	for h, t := range r.seen {
		r.state.Seen[h] = t
	}
	if r.queriedUntil > 0 {
		r.state.QueriedUntil = r.queriedUntil
	}
}

func (s *dbxScraper) rejectRows(ctx context.Context, table string, bad []rowError) {
	if len(bad) == 0 {
		return
	}
	s.telemetry.DatabricksRowsRejected.Add(ctx, int64(len(bad)), metric.WithAttributes(attribute.String("table", table)))
	s.logger.Warn("Skipped system-table rows that could not be decoded",
		zap.String("table", table), zap.Int("count", len(bad)),
		zap.Int("first_position", bad[0].Index), zap.Error(bad[0].Err))
}

// scrapeNodeTimeline reports per-node utilisation from system.compute.node_timeline.
// Cost: one SQL statement (plus its result chunks) per system_tables::interval.
func (s *dbxScraper) scrapeNodeTimeline(ctx context.Context, now time.Time) {
	window := s.cfg.SystemTables.NodeTimelineWindow
	from := queryWindow(&s.nodeTimeline, now, window)
	q := tableQuery{WarehouseID: s.cfg.SystemTables.WarehouseID, From: from, To: now}
	read := newTableRead(&s.nodeTimeline, stateKeyNodeTimeline)
	err := s.api.QueryNodeTimeline(ctx, q, func(rows []nodeTimelineRow, bad []rowError) error {
		s.rejectRows(ctx, "system.compute.node_timeline", bad)
		for i := range rows {
			r := &rows[i]
			if read.fresh(rowHash(r.key()), r.StartTime) {
				s.recordNodeRow(r)
			}
		}
		return nil
	})
	if err != nil {
		s.failures.failed(ctx, sourceNodeTimeline, err)
	} else {
		s.failures.succeeded(sourceNodeTimeline)
	}
	// Rows of the chunks read before a failed one are reported, and stay marked once accepted:
	// re-reporting them would double-count network bytes.
	read.finish(now, window, err == nil)
	s.tableReads = append(s.tableReads, read)
}

func (s *dbxScraper) recordNodeRow(r *nodeTimelineRow) {
	ts := pcommon.NewTimestampFromTime(r.EndTime)
	if v := r.CPUUserPercent; v != nil {
		s.mb.RecordDatabricksNodeCPUUtilizationDataPoint(ts, *v/100, metadata.AttributeCPUModeUser)
	}
	if v := r.CPUSystemPercent; v != nil {
		s.mb.RecordDatabricksNodeCPUUtilizationDataPoint(ts, *v/100, metadata.AttributeCPUModeSystem)
	}
	if v := r.CPUWaitPercent; v != nil {
		s.mb.RecordDatabricksNodeCPUUtilizationDataPoint(ts, *v/100, metadata.AttributeCPUModeWait)
	}
	if v := r.MemUsedPercent; v != nil {
		s.mb.RecordDatabricksNodeMemoryUtilizationDataPoint(ts, *v/100)
	}
	if v := r.MemSwapPercent; v != nil {
		s.mb.RecordDatabricksNodeSwapUtilizationDataPoint(ts, *v/100)
	}
	if v := r.NetworkSentBytes; v != nil {
		s.mb.RecordDatabricksNodeNetworkIoDataPoint(ts, *v, metadata.AttributeNetworkIoDirectionTransmit)
	}
	if v := r.NetworkReceivedBytes; v != nil {
		s.mb.RecordDatabricksNodeNetworkIoDataPoint(ts, *v, metadata.AttributeNetworkIoDirectionReceive)
	}
	for _, mount := range sortedKeys(r.DiskFreeBytesPerMountPoint) {
		s.mb.RecordDatabricksNodeDiskFreeDataPoint(ts, r.DiskFreeBytesPerMountPoint[mount], mount)
	}
	rb := metadata.NewResourceBuilder(s.cfg.ResourceAttributes)
	rb.SetDatabricksWorkspaceID(firstNonEmpty(r.WorkspaceID, s.workspaceID))
	rb.SetDatabricksWorkspaceURL(s.endpoint)
	rb.SetDatabricksClusterID(r.ClusterID)
	rb.SetDatabricksNodeInstanceID(r.InstanceID)
	// Each row covers its own minute: the delta network sum starts at the row's start time.
	s.mb.EmitForResource(metadata.WithResource(rb.Emit()), metadata.WithStartTimeOverride(pcommon.NewTimestampFromTime(r.StartTime)))
}

// scrapeBilling reports DBUs from system.billing.usage, one delta point per usage window, SKU
// and product; retractions (negative quantities) are reported as they are.
// Cost: one SQL statement (plus its result chunks) per system_tables::interval.
func (s *dbxScraper) scrapeBilling(ctx context.Context, now time.Time) {
	window := s.cfg.SystemTables.BillingWindow
	from := queryWindow(&s.billing, now, window)
	q := tableQuery{WarehouseID: s.cfg.SystemTables.WarehouseID, From: from, To: now}
	read := newTableRead(&s.billing, stateKeyBilling)
	var fresh []billingUsageRow
	err := s.api.QueryBillingUsage(ctx, q, func(rows []billingUsageRow, bad []rowError) error {
		s.rejectRows(ctx, "system.billing.usage", bad)
		for i := range rows {
			// Storage and network usage share the table; the metric is in DBUs only.
			if rows[i].UsageUnit != "" && rows[i].UsageUnit != "DBU" {
				continue
			}
			if read.fresh(rowHash(rows[i].RecordID), rows[i].UsageStartTime) {
				fresh = append(fresh, rows[i])
			}
		}
		return nil
	})
	if err != nil {
		s.failures.failed(ctx, sourceBilling, err)
	} else {
		s.failures.succeeded(sourceBilling)
	}
	s.recordBilling(fresh)
	read.finish(now, window, err == nil)
	s.tableReads = append(s.tableReads, read)
}

type usageWindow struct {
	workspaceID string
	start, end  time.Time
}

func (s *dbxScraper) recordBilling(rows []billingUsageRow) {
	groups := map[usageWindow][]billingUsageRow{}
	for _, r := range rows {
		w := usageWindow{r.WorkspaceID, r.UsageStartTime, r.UsageEndTime}
		groups[w] = append(groups[w], r)
	}
	windows := make([]usageWindow, 0, len(groups))
	for w := range groups {
		windows = append(windows, w)
	}
	sort.Slice(windows, func(i, j int) bool {
		a, b := windows[i], windows[j]
		if !a.start.Equal(b.start) {
			return a.start.Before(b.start)
		}
		if !a.end.Equal(b.end) {
			return a.end.Before(b.end)
		}
		return a.workspaceID < b.workspaceID
	})
	for _, w := range windows {
		ts := pcommon.NewTimestampFromTime(w.end)
		for _, r := range groups[w] {
			s.mb.RecordDatabricksBillingUsageDataPoint(ts, r.UsageQuantity, r.SKUName, r.BillingOriginProduct)
		}
		rb := metadata.NewResourceBuilder(s.cfg.ResourceAttributes)
		rb.SetDatabricksWorkspaceID(firstNonEmpty(w.workspaceID, s.workspaceID))
		// system.billing.usage is account-wide: only this workspace's rows get its URL.
		if w.workspaceID == "" || w.workspaceID == s.workspaceID {
			rb.SetDatabricksWorkspaceURL(s.endpoint)
		}
		s.mb.EmitForResource(metadata.WithResource(rb.Emit()), metadata.WithStartTimeOverride(pcommon.NewTimestampFromTime(w.start)))
	}
}
