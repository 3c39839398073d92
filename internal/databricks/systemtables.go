package databricks

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

const (
	// DefaultAuditTable is the system table QueryAudit reads unless AuditQuery.Table says
	// otherwise (e.g. a view or a copy of it).
	DefaultAuditTable = "system.access.audit"
	// NodeTimelineTable and BillingUsageTable are read by QueryNodeTimeline and
	// QueryBillingUsage.
	NodeTimelineTable = "system.compute.node_timeline"
	BillingUsageTable = "system.billing.usage"

	nodeTimelineColumns = "account_id, workspace_id, cluster_id, instance_id, start_time, end_time, driver, node_type, " +
		"cpu_user_percent, cpu_system_percent, cpu_wait_percent, mem_used_percent, mem_swap_percent, " +
		"network_sent_bytes, network_received_bytes, disk_free_bytes_per_mount_point"
	billingUsageColumns = "record_id, account_id, workspace_id, sku_name, cloud, usage_start_time, usage_end_time, " +
		"usage_date, custom_tags, usage_unit, usage_quantity, usage_metadata, record_type, billing_origin_product"

	// sqlTimestampLayout renders TIMESTAMP parameters; Databricks keeps microseconds.
	sqlTimestampLayout = "2006-01-02T15:04:05.000000Z"
	sqlDateLayout      = "2006-01-02"
)

// tableNamePattern admits catalog.schema.table names of plain identifiers only: the name
// is spliced into SQL text, so nothing that could end the identifier is accepted.
var tableNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$`)

// AuditQuery selects a time window of audit events.
type AuditQuery struct {
	// Table defaults to DefaultAuditTable.
	Table       string
	WarehouseID string
	// From and To bound event_time (From inclusive, To exclusive); event_date is pruned
	// to the same range so the warehouse reads only the needed partitions.
	From, To time.Time
	// Limit caps the rows; 0 means no LIMIT clause.
	Limit int
}

// TimelineQuery selects a time window of node-timeline or billing rows (start time in
// [From, To)).
type TimelineQuery struct {
	WarehouseID string
	From, To    time.Time
	// Limit caps the rows; 0 means no LIMIT clause.
	Limit int
}

// AuditSQL is the exact statement QueryAudit sends, e.g. AuditSQL("system.access.audit",
// 100000) = "SELECT * FROM system.access.audit WHERE event_date >= :from_date AND
// event_date <= :to_date AND event_time >= :from_ts AND event_time < :to_ts ORDER BY
// event_time, event_id LIMIT 100000". Parameters: from_date, to_date (DATE), from_ts,
// to_ts (TIMESTAMP).
func AuditSQL(table string, limit int) string {
	return "SELECT * FROM " + table +
		" WHERE event_date >= :from_date AND event_date <= :to_date" +
		" AND event_time >= :from_ts AND event_time < :to_ts" +
		" ORDER BY event_time, event_id" + limitClause(limit)
}

// NodeTimelineSQL is the exact statement QueryNodeTimeline sends. Parameters: from_ts,
// to_ts (TIMESTAMP).
func NodeTimelineSQL(limit int) string {
	return "SELECT " + nodeTimelineColumns + " FROM " + NodeTimelineTable +
		" WHERE start_time >= :from_ts AND start_time < :to_ts" +
		" ORDER BY start_time, instance_id" + limitClause(limit)
}

// BillingUsageSQL is the exact statement QueryBillingUsage sends. Parameters: from_date,
// to_date (DATE), from_ts, to_ts (TIMESTAMP).
func BillingUsageSQL(limit int) string {
	return "SELECT " + billingUsageColumns + " FROM " + BillingUsageTable +
		" WHERE usage_date >= :from_date AND usage_date <= :to_date" +
		" AND usage_start_time >= :from_ts AND usage_start_time < :to_ts" +
		" ORDER BY usage_start_time, record_id" + limitClause(limit)
}

func limitClause(limit int) string {
	if limit <= 0 {
		return ""
	}
	return " LIMIT " + strconv.Itoa(limit)
}

// windowParams binds the window [from, to): dates for partition pruning (to_date is
// inclusive because event_date of an event just before `to` is to's date), timestamps for
// the exact bounds.
func windowParams(from, to time.Time) []SQLParam {
	return []SQLParam{
		{Name: "from_date", Value: from.UTC().Format(sqlDateLayout), Type: "DATE"},
		{Name: "to_date", Value: to.UTC().Format(sqlDateLayout), Type: "DATE"},
		{Name: "from_ts", Value: from.UTC().Format(sqlTimestampLayout), Type: "TIMESTAMP"},
		{Name: "to_ts", Value: to.UTC().Format(sqlTimestampLayout), Type: "TIMESTAMP"},
	}
}

func validateWindow(warehouseID string, from, to time.Time) error {
	var errs []error
	if warehouseID == "" {
		errs = append(errs, errors.New("warehouse id is required"))
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		errs = append(errs, fmt.Errorf("time window [%s, %s) is empty", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// QueryAudit reads audit events in [q.From, q.To) with one statement and hands them to fn
// chunk by chunk, in event_time order. Rows that cannot be decoded are passed in bad so
// the caller can count and skip them; they never fail the query. An error from fn stops
// the query and is returned.
func (c *Client) QueryAudit(ctx context.Context, q AuditQuery, fn func(rows []AuditRow, bad []RowError) error) error {
	table := q.Table
	if table == "" {
		table = DefaultAuditTable
	}
	if !tableNamePattern.MatchString(table) {
		return fmt.Errorf("audit query: table %q is not a plain catalog.schema.table name", truncate(table))
	}
	if err := validateWindow(q.WarehouseID, q.From, q.To); err != nil {
		return fmt.Errorf("audit query: %w", err)
	}
	st := Statement{WarehouseID: q.WarehouseID, SQL: AuditSQL(table, q.Limit), Params: windowParams(q.From, q.To)}
	var dec *auditDecoder
	return c.queryRows(ctx, st, func(cols []resultColumn, rows [][]*string, offset int) error {
		if dec == nil {
			dec = newAuditDecoder(cols)
		}
		good, bad := decodeChunk(rows, offset, dec.decode)
		return fn(good, bad)
	})
}

// QueryNodeTimeline reads node-minute rows with start_time in [q.From, q.To).
func (c *Client) QueryNodeTimeline(ctx context.Context, q TimelineQuery, fn func(rows []NodeTimelineRow, bad []RowError) error) error {
	if err := validateWindow(q.WarehouseID, q.From, q.To); err != nil {
		return fmt.Errorf("node timeline query: %w", err)
	}
	params := windowParams(q.From, q.To)[2:] // node_timeline has no date column to prune on
	st := Statement{WarehouseID: q.WarehouseID, SQL: NodeTimelineSQL(q.Limit), Params: params}
	var index map[string]int
	return c.queryRows(ctx, st, func(cols []resultColumn, rows [][]*string, offset int) error {
		if index == nil {
			index = newColumnIndex(cols)
		}
		good, bad := decodeChunk(rows, offset, func(row []*string) (NodeTimelineRow, error) {
			return decodeNodeTimelineRow(index, row)
		})
		return fn(good, bad)
	})
}

// QueryBillingUsage reads billing records with usage_start_time in [q.From, q.To).
func (c *Client) QueryBillingUsage(ctx context.Context, q TimelineQuery, fn func(rows []BillingUsageRow, bad []RowError) error) error {
	if err := validateWindow(q.WarehouseID, q.From, q.To); err != nil {
		return fmt.Errorf("billing usage query: %w", err)
	}
	st := Statement{WarehouseID: q.WarehouseID, SQL: BillingUsageSQL(q.Limit), Params: windowParams(q.From, q.To)}
	var index map[string]int
	return c.queryRows(ctx, st, func(cols []resultColumn, rows [][]*string, offset int) error {
		if index == nil {
			index = newColumnIndex(cols)
		}
		good, bad := decodeChunk(rows, offset, func(row []*string) (BillingUsageRow, error) {
			return decodeBillingUsageRow(index, row)
		})
		return fn(good, bad)
	})
}

// queryRows runs st and tells fn each chunk's offset in the whole result.
func (c *Client) queryRows(ctx context.Context, st Statement, fn func(cols []resultColumn, rows [][]*string, offset int) error) error {
	offset := 0
	return c.executeStatement(ctx, st, func(cols []resultColumn, rows [][]*string) error {
		err := fn(cols, rows, offset)
		offset += len(rows)
		return err
	})
}

func decodeChunk[T any](rows [][]*string, offset int, decode func([]*string) (T, error)) ([]T, []RowError) {
	good := make([]T, 0, len(rows))
	var bad []RowError
	for i, row := range rows {
		r, err := decode(row)
		if err != nil {
			bad = append(bad, RowError{Index: offset + i, Err: err})
			continue
		}
		good = append(good, r)
	}
	return good, bad
}
