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

// finishTableQuery prunes keys that can no longer be returned and, when the query succeeded,
// advances the watermark. Keys are kept for two windows because the time column the client
// filters on may differ slightly from the row time used here.
func finishTableQuery(st *tableState, now time.Time, window time.Duration, ok bool) {
	horizon := now.Add(-2 * window).UnixMilli()
	for k, t := range st.Seen {
		if t < horizon {
			delete(st.Seen, k)
		}
	}
	if ok {
		st.QueriedUntil = now.UnixMilli()
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
	err := s.api.QueryNodeTimeline(ctx, q, func(rows []nodeTimelineRow, bad []rowError) error {
		s.rejectRows(ctx, "system.compute.node_timeline", bad)
		for i := range rows {
			r := &rows[i]
			h := rowHash(r.key())
			if _, dup := s.nodeTimeline.Seen[h]; dup {
				continue
			}
			s.nodeTimeline.Seen[h] = r.StartTime.UnixMilli()
			s.recordNodeRow(r)
		}
		return nil
	})
	if err != nil {
		s.failures.failed(ctx, sourceNodeTimeline, err)
	} else {
		s.failures.succeeded(sourceNodeTimeline)
	}
	// Rows already reported stay marked even if a later chunk failed: re-reporting them would
	// double-count network bytes.
	finishTableQuery(&s.nodeTimeline, now, window, err == nil)
	s.dirty[stateKeyNodeTimeline] = true
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
	var fresh []billingUsageRow
	err := s.api.QueryBillingUsage(ctx, q, func(rows []billingUsageRow, bad []rowError) error {
		s.rejectRows(ctx, "system.billing.usage", bad)
		for i := range rows {
			// Storage and network usage share the table; the metric is in DBUs only.
			if rows[i].UsageUnit != "" && rows[i].UsageUnit != "DBU" {
				continue
			}
			h := rowHash(rows[i].RecordID)
			if _, dup := s.billing.Seen[h]; dup {
				continue
			}
			s.billing.Seen[h] = rows[i].UsageStartTime.UnixMilli()
			fresh = append(fresh, rows[i])
		}
		return nil
	})
	if err != nil {
		s.failures.failed(ctx, sourceBilling, err)
	} else {
		s.failures.succeeded(sourceBilling)
	}
	s.recordBilling(fresh)
	finishTableQuery(&s.billing, now, window, err == nil)
	s.dirty[stateKeyBilling] = true
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
