package simulator

import (
	"fmt"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
)

// auditEvents are the audit events of the workspace's own activity: cluster lifecycle actions
// (autoscaling and inactivity termination attributed to System-User) and job runs.
func (w *Workspace) auditEvents(b *eventBuilder) []AuditEvent {
	sys := &Principal{Email: SystemUser}
	var out []AuditEvent
	for _, c := range w.Clusters {
		label := "cluster/" + c.ID
		creator := w.pop.ByEmail(c.Creator)
		for _, ev := range c.Events {
			t := time.UnixMilli(ev.Timestamp).UTC()
			switch ev.Type {
			case compute.EventTypeCreating:
				e := b.event(label, t, creator, "clusters", "create", map[string]string{"cluster_name": c.Name, "spark_version": c.SparkVersion,
					"node_type_id": c.NodeType, "num_workers": strconv.Itoa(c.MinWorkers), "autotermination_minutes": "60", "cluster_creator": "webapp"}, 200)
				if creator != nil {
					e = withClient(e, creator.OfficeIP, creator.UserAgents[0], stableUUID("clsession", c.ID))
				}
				e.Result = fmt.Sprintf(`{"cluster_id":"%s"}`, c.ID)
				out = append(out, e)
			case compute.EventTypeRunning:
				e := b.event(label, t, sys, "clusters", "startResult", map[string]string{"clusterId": c.ID, "clusterName": c.Name,
					"clusterState": "Running", "clusterWorkers": strconv.Itoa(ev.Details.CurrentNumWorkers)}, 200)
				out = append(out, e)
			case compute.EventTypeResizing:
				out = append(out, b.event(label, t, sys, "clusters", "resize", map[string]string{"cluster_id": c.ID,
					"num_workers": strconv.Itoa(ev.Details.TargetNumWorkers), "cause": "AUTOSCALE"}, 200))
			case compute.EventTypeTerminating:
				who := sys
				if ev.Details.Reason != nil && ev.Details.Reason.Code == compute.TerminationReasonCodeUserRequest && creator != nil {
					who = creator
				}
				out = append(out, b.event(label, t, who, "clusters", "delete", map[string]string{"cluster_id": c.ID}, 200))
			}
		}
	}
	for _, r := range w.Runs {
		label := "run/" + strconv.FormatInt(r.RunID, 10)
		params := func(state string) map[string]string {
			p := map[string]string{"jobId": strconv.FormatInt(r.Job.ID, 10), "runId": strconv.FormatInt(r.RunID, 10),
				"jobTriggerType": "cron", "jobTaskType": "notebook", "jobClusterType": "existing", "clusterId": r.Job.ClusterID,
				"taskKey": "main", "idInJob": strconv.FormatInt(r.Number, 10), "orgId": w.s.Workspace.ID, "runCreatorUserName": r.Job.Creator}
			if state != "" {
				p["jobTerminalState"] = state
			}
			return p
		}
		out = append(out, b.event(label, r.Start, &Principal{Email: SystemUser}, "jobs", "runStart", params(""), 200))
		switch r.Result {
		case jobs.RunResultStateSuccess:
			out = append(out, b.event(label, r.End, sys, "jobs", "runSucceeded", params("Succeeded"), 200))
		case jobs.RunResultStateCanceled:
			out = append(out, b.event(label, r.End, sys, "jobs", "runFailed", params("Cancelled"), 200))
		case jobs.RunResultStateTimedout:
			out = append(out, b.event(label, r.End, sys, "jobs", "runFailed", params("TimedOut"), 200))
		default:
			out = append(out, b.event(label, r.End, sys, "jobs", "runFailed", params("Failed"), 200))
		}
	}
	return out
}

// mix64 is a cheap deterministic hash for per-row metric noise (splitmix64).
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func unit(parts ...uint64) float64 {
	var h uint64 = 1469598103934665603
	for _, p := range parts {
		h = mix64(h ^ p)
	}
	return float64(h>>11) / float64(1<<53)
}

// nodeTimelineTable serves system.compute.node_timeline: one row per node per minute while a
// cluster runs, visible once the minute has ended.
func (w *Workspace) nodeTimelineTable(now time.Time) *Table {
	return &Table{
		Name: "system.compute.node_timeline", Columns: nodeTimelineColumns, TimeColumn: "start_time",
		Scan: func(from, to time.Time, fn func(row func(col int) any)) {
			for _, c := range w.Clusters {
				for _, span := range c.Running {
					lo, hi := span.From.Truncate(time.Minute), span.To
					if !from.IsZero() && lo.Before(from) {
						lo = from.Truncate(time.Minute)
						if lo.Before(from) {
							lo = lo.Add(time.Minute)
						}
					}
					if !to.IsZero() && hi.After(to) {
						hi = to
					}
					for m := lo; m.Before(hi) && !m.Add(time.Minute).After(now); m = m.Add(time.Minute) {
						if m.Before(span.From.Truncate(time.Minute)) {
							continue
						}
						for node := 0; node <= span.Workers; node++ {
							fn(w.nodeRow(c, m, node))
						}
					}
				}
			}
		},
	}
}

func (w *Workspace) nodeRow(c *SimCluster, m time.Time, node int) func(int) any {
	k := uint64(m.Unix()/60)*131 + uint64(node)
	ci := uint64(c.idx)
	load := 0.2 + 0.6*unit(ci, k/30) // load drifts every half hour
	return func(col int) any {
		switch nodeTimelineColumns[col].Name {
		case "account_id":
			return w.s.Workspace.AccountID
		case "workspace_id":
			return w.s.Workspace.ID
		case "cluster_id":
			return c.ID
		case "instance_id":
			return instanceID(c.ID, node)
		case "start_time":
			return m
		case "end_time":
			return m.Add(time.Minute)
		case "driver":
			return node == 0
		case "node_type":
			return c.NodeType
		case "private_ip":
			return privateIP(c.idx, node)
		case "cpu_user_percent":
			return round2(100 * load * (0.8 + 0.4*unit(ci, k, 1)))
		case "cpu_system_percent":
			return round2(5 + 10*unit(ci, k, 2))
		case "cpu_wait_percent":
			return round2(3 * unit(ci, k, 3))
		case "mem_used_percent":
			return round2(40 + 50*load)
		case "mem_swap_percent":
			return round2(unit(ci, k, 4))
		case "network_sent_bytes":
			return int64(1e6 + 5e7*load*unit(ci, k, 5))
		case "network_received_bytes":
			return int64(2e6 + 9e7*load*unit(ci, k, 6))
		case "disk_free_bytes_per_mount_point":
			return map[string]int64{"/": int64(3e10 + 1e9*unit(ci, k/60, 7)), "/local_disk0": int64(1.5e11 * (1 - 0.3*load))}
		}
		return nil
	}
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// billingRow is one system.billing.usage record.
type billingRow struct {
	id              string
	sku, product    string
	from, to        time.Time
	quantity        float64
	clusterID, whID string
	jobID, jobRunID string
	nodeType, runAs string
	tags            map[string]string
}

// billingTable serves system.billing.usage: hourly DBU records per running cluster and warehouse.
func (w *Workspace) billingTable(now time.Time) *Table {
	return &Table{
		Name: "system.billing.usage", Columns: billingColumns, TimeColumn: "usage_start_time", DateColumn: "usage_date",
		Scan: func(from, to time.Time, fn func(row func(col int) any)) {
			h0 := w.start.Add(-24 * time.Hour).Truncate(time.Hour)
			if !from.IsZero() && from.After(h0) {
				h0 = from.Truncate(time.Hour)
				if h0.Before(from) {
					h0 = h0.Add(time.Hour)
				}
			}
			for h := h0; !h.Add(time.Hour).After(now) && h.Before(w.end.Add(24*time.Hour)); h = h.Add(time.Hour) {
				if !to.IsZero() && !h.Before(to) {
					break
				}
				for _, rec := range w.billingHour(h) {
					fn(w.billingColumn(rec))
				}
			}
		},
	}
}

func (w *Workspace) billingHour(h time.Time) []billingRow {
	var out []billingRow
	end := h.Add(time.Hour)
	for _, c := range w.Clusters {
		var nodeHours float64
		for _, sp := range c.Running {
			lo, hi := maxTime(sp.From, h), minTime(sp.To, end)
			if hi.After(lo) {
				nodeHours += hi.Sub(lo).Hours() * float64(sp.Workers+1)
			}
		}
		if nodeHours == 0 {
			continue
		}
		out = append(out, billingRow{id: stableUUID("usage", c.ID, h.Unix()), sku: "PREMIUM_ALL_PURPOSE_COMPUTE", product: "ALL_PURPOSE",
			from: h, to: end, quantity: round6(nodeHours * 0.75), clusterID: c.ID, nodeType: c.NodeType, runAs: c.Creator,
			tags: map[string]string{"team": "data"}})
	}
	for _, wh := range w.Warehouses {
		if !warehouseRunning(h) {
			continue
		}
		sku := "PREMIUM_SQL_PRO_COMPUTE"
		if wh.Serverless {
			sku = "PREMIUM_SERVERLESS_SQL_COMPUTE"
		}
		out = append(out, billingRow{id: stableUUID("usage", wh.ID, h.Unix()), sku: sku, product: "SQL", from: h, to: end,
			quantity: round6(4 * (1 + unit(uint64(h.Unix()), 9))), whID: wh.ID, runAs: wh.Creator})
	}
	for _, r := range w.Runs {
		lo, hi := maxTime(r.Start, h), minTime(r.End, end)
		if !hi.After(lo) {
			continue
		}
		out = append(out, billingRow{id: stableUUID("usage", r.RunID, h.Unix()), sku: "PREMIUM_JOBS_COMPUTE", product: "JOBS", from: h, to: end,
			quantity: round6(hi.Sub(lo).Hours() * 3), clusterID: r.Job.ClusterID, jobID: strconv.FormatInt(r.Job.ID, 10),
			jobRunID: strconv.FormatInt(r.RunID, 10), runAs: r.Job.Creator})
	}
	return out
}

func round6(f float64) float64 { return float64(int64(f*1e6+0.5)) / 1e6 }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (w *Workspace) billingColumn(r billingRow) func(int) any {
	return func(col int) any {
		switch billingColumns[col].Name {
		case "record_id":
			return r.id
		case "account_id":
			return w.s.Workspace.AccountID
		case "workspace_id":
			return w.s.Workspace.ID
		case "sku_name":
			return r.sku
		case "cloud":
			return w.s.Workspace.Cloud
		case "usage_start_time":
			return r.from
		case "usage_end_time":
			return r.to
		case "usage_date":
			return Date(r.from.UTC().Format(time.DateOnly))
		case "custom_tags":
			if r.tags == nil {
				return map[string]string{}
			}
			return r.tags
		case "usage_unit":
			return "DBU"
		case "usage_quantity":
			return Decimal(strconv.FormatFloat(r.quantity, 'f', 18, 64))
		case "usage_metadata":
			return Struct{{"cluster_id", nullable(r.clusterID)}, {"warehouse_id", nullable(r.whID)}, {"job_id", nullable(r.jobID)},
				{"job_run_id", nullable(r.jobRunID)}, {"node_type", nullable(r.nodeType)}}
		case "identity_metadata":
			return Struct{{"run_as", nullable(r.runAs)}, {"created_by", nil}, {"owned_by", nil}}
		case "record_type":
			return "ORIGINAL"
		case "ingestion_date":
			return Date(r.to.UTC().Format(time.DateOnly))
		case "billing_origin_product":
			return r.product
		case "usage_type":
			return "COMPUTE_TIME"
		}
		return nil
	}
}

// Decimal is a DECIMAL value in its canonical text form.
type Decimal string
