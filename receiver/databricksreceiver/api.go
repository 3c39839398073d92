// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// workspaceAPI is the subset of the shared Databricks client (internal/databricks) this receiver
// calls. The scraper depends on this interface rather than the concrete client so that tests can
// count and fail individual calls, and so that the client can evolve behind an adapter.
type workspaceAPI interface {
	ListClusters(ctx context.Context) ([]compute.ClusterDetails, error)
	// ClusterEvents returns the events of one cluster with timestamp >= startTimeMillis, oldest first.
	ClusterEvents(ctx context.Context, clusterID string, startTimeMillis int64) ([]compute.ClusterEvent, error)
	ListJobs(ctx context.Context) ([]jobs.BaseJob, error)
	ListRuns(ctx context.Context, q runsQuery) ([]jobs.BaseRun, error)
	ListWarehouses(ctx context.Context) ([]sql.EndpointInfo, error)
	ListUsers(ctx context.Context) ([]iam.User, error)
	ListGroups(ctx context.Context) ([]iam.Group, error)
	ListServicePrincipals(ctx context.Context) ([]iam.ServicePrincipal, error)
	QueryNodeTimeline(ctx context.Context, q tableQuery, fn func(rows []nodeTimelineRow, bad []rowError) error) error
	QueryBillingUsage(ctx context.Context, q tableQuery, fn func(rows []billingUsageRow, bad []rowError) error) error
	// Stats are the client's monotonic traffic counters: requests (the per-scrape cost figure),
	// errors and retries (self-telemetry).
	Stats() databricks.Stats
	// WorkspaceID returns the numeric workspace id when the client knows it, else "".
	WorkspaceID(ctx context.Context) string
	// Host is the workspace URL the client talks to (endpoint, or DATABRICKS_HOST).
	Host() string
}

// runsQuery mirrors databricks.RunsQuery: times are epoch milliseconds, 0 means unset.
type runsQuery struct {
	StartTimeFrom, StartTimeTo int64
	ActiveOnly, CompletedOnly  bool
	JobID                      int64
}

// tableQuery selects system-table rows with From <= time < To on the table's time column.
type tableQuery struct {
	WarehouseID string
	From, To    time.Time
	Limit       int
}

type rowError struct {
	Index int
	Err   error
}

// nodeTimelineRow holds the system.compute.node_timeline columns the node metrics need.
type nodeTimelineRow struct {
	WorkspaceID, ClusterID, InstanceID string
	StartTime, EndTime                 time.Time
	Driver                             bool
	// Measures are nil when the node did not report them (SQL NULL): they are left out, not 0.
	CPUUserPercent, CPUSystemPercent, CPUWaitPercent *float64
	MemUsedPercent, MemSwapPercent                   *float64
	NetworkSentBytes, NetworkReceivedBytes           *int64
	DiskFreeBytesPerMountPoint                       map[string]int64
}

// key identifies one node-minute; a row re-read in the lateness window has the same key.
func (r nodeTimelineRow) key() string {
	return r.ClusterID + "|" + r.InstanceID + "|" + r.StartTime.UTC().Format(time.RFC3339Nano)
}

// billingUsageRow holds the system.billing.usage columns the DBU metric needs.
type billingUsageRow struct {
	RecordID             string
	WorkspaceID          string
	SKUName              string
	BillingOriginProduct string
	UsageUnit            string
	UsageStartTime       time.Time
	UsageEndTime         time.Time
	UsageQuantity        float64
}
