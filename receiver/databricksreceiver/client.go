// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"

	"github.com/databricks/databricks-sdk-go/service/jobs"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// newClientAPI builds the shared Databricks client (internal/databricks) behind workspaceAPI.
func newClientAPI(cfg *Config, logger *zap.Logger) (workspaceAPI, error) {
	c, err := databricks.New(cfg.Connection, logger)
	if err != nil {
		return nil, err
	}
	return clientAdapter{Client: c}, nil
}

// clientAdapter converts between the client's types and the receiver's row types; the REST
// methods pass straight through.
type clientAdapter struct {
	*databricks.Client
}

func (a clientAdapter) ListRuns(ctx context.Context, q runsQuery) ([]jobs.BaseRun, error) {
	return a.Client.ListRuns(ctx, databricks.RunsQuery{
		StartTimeFrom: q.StartTimeFrom, StartTimeTo: q.StartTimeTo,
		ActiveOnly: q.ActiveOnly, CompletedOnly: q.CompletedOnly, JobID: q.JobID,
	})
}

// WorkspaceID asks the workspace for its id (SCIM Me); "" when it cannot tell, in which case
// the scraper falls back to the host name and asks again next cycle.
func (a clientAdapter) WorkspaceID(ctx context.Context) string {
	id, err := a.Client.WorkspaceID(ctx)
	if err != nil {
		return ""
	}
	return id
}

func (a clientAdapter) QueryNodeTimeline(ctx context.Context, q tableQuery, fn func([]nodeTimelineRow, []rowError) error) error {
	return a.Client.QueryNodeTimeline(ctx, databricks.TimelineQuery(q), func(rows []databricks.NodeTimelineRow, bad []databricks.RowError) error {
		out := make([]nodeTimelineRow, len(rows))
		for i := range rows {
			r := &rows[i]
			out[i] = nodeTimelineRow{
				WorkspaceID: r.WorkspaceID, ClusterID: r.ClusterID, InstanceID: r.InstanceID,
				StartTime: r.StartTime, EndTime: r.EndTime, Driver: r.Driver,
				CPUUserPercent: r.CPUUserPercent, CPUSystemPercent: r.CPUSystemPercent, CPUWaitPercent: r.CPUWaitPercent,
				MemUsedPercent: r.MemUsedPercent, MemSwapPercent: r.MemSwapPercent,
				NetworkSentBytes: r.NetworkSentBytes, NetworkReceivedBytes: r.NetworkReceivedBytes,
				DiskFreeBytesPerMountPoint: r.DiskFreeBytesPerMountPoint,
			}
		}
		return fn(out, convertRowErrors(bad))
	})
}

func (a clientAdapter) QueryBillingUsage(ctx context.Context, q tableQuery, fn func([]billingUsageRow, []rowError) error) error {
	return a.Client.QueryBillingUsage(ctx, databricks.TimelineQuery(q), func(rows []databricks.BillingUsageRow, bad []databricks.RowError) error {
		out := make([]billingUsageRow, len(rows))
		for i := range rows {
			r := &rows[i]
			out[i] = billingUsageRow{
				RecordID: r.RecordID, WorkspaceID: r.WorkspaceID, SKUName: r.SKUName,
				BillingOriginProduct: r.BillingOriginProduct, UsageUnit: r.UsageUnit,
				UsageStartTime: r.UsageStartTime, UsageEndTime: r.UsageEndTime, UsageQuantity: r.UsageQuantity,
			}
		}
		return fn(out, convertRowErrors(bad))
	})
}

func convertRowErrors(bad []databricks.RowError) []rowError {
	out := make([]rowError, len(bad))
	for i, b := range bad {
		out[i] = rowError{Index: b.Index, Err: b.Err}
	}
	return out
}
