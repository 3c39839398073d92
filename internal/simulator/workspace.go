package simulator

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"
)

// Workspace is the simulated compute side: clusters with their event history, jobs with their
// runs and SQL warehouses. Its state at any instant is derived from the generated timeline.
type Workspace struct {
	s          *Scenario
	pop        *Population
	start, end time.Time
	Clusters   []*SimCluster
	Jobs       []*SimJob
	Runs       []*SimRun // newest start first
	Warehouses []*SimWarehouse
}

// SimCluster is a cluster and its lifecycle.
type SimCluster struct {
	ID, Name, Creator, NodeType, SparkVersion string
	Source                                    compute.ClusterSource
	MinWorkers, MaxWorkers                    int
	Autoscale                                 bool
	CreatedAt                                 time.Time
	Events                                    []compute.ClusterEvent // oldest first
	Running                                   []runningSpan
	idx                                       int
}

type runningSpan struct {
	From, To time.Time
	Workers  int
}

// SimJob is a scheduled job.
type SimJob struct {
	ID        int64
	Name      string
	Creator   string
	Cron      string
	CreatedAt time.Time
	ClusterID string
}

// SimRun is one run of a job.
type SimRun struct {
	RunID      int64
	Job        *SimJob
	Number     int64
	Start, End time.Time
	Result     jobs.RunResultState
	Queue      time.Duration
}

// SimWarehouse is a SQL warehouse; it runs during European business hours.
type SimWarehouse struct {
	ID, Name, Size, Creator string
	Serverless              bool
	MaxClusters             int
}

func clusterID(s *Scenario, i int) string {
	return fmt.Sprintf("%s-%s-%s", "0105", stableDigits(6, s.Seed, "cl", i), stableHex(8, s.Seed, "clh", i))
}

func jobID(s *Scenario, i int) string {
	return stableDigits(15, s.Seed, "job", i)
}

var nodeTypes = []struct {
	id     string
	cores  float64
	memory int64
}{{"i3.xlarge", 4, 31232}, {"m5d.2xlarge", 8, 32768}, {"r5d.4xlarge", 16, 131072}}

func newWorkspace(s *Scenario, pop *Population, start, end time.Time) *Workspace {
	w := &Workspace{s: s, pop: pop, start: start, end: end}
	names := []string{"shared-analytics", "etl-prod", "ml-training", "adhoc", "bi-serving", "streaming-ingest", "data-science", "reporting"}
	for i := 0; i < s.Clusters; i++ {
		r := stream(s.Seed, "cluster", i)
		nt := nodeTypes[r.IntN(len(nodeTypes))]
		c := &SimCluster{
			idx: i, ID: clusterID(s, i), Name: fmt.Sprintf("%s-%d", names[i%len(names)], i/len(names)+1),
			Creator: pick(r, pop.Users).Email, NodeType: nt.id, SparkVersion: "15.4.x-scala2.12",
			Source: compute.ClusterSourceUi, Autoscale: r.IntN(2) == 0, MinWorkers: 1 + r.IntN(2),
		}
		c.MaxWorkers = c.MinWorkers + 2 + r.IntN(6)
		c.CreatedAt = start.Add(-time.Duration(24+r.IntN(48)) * time.Hour)
		w.lifecycle(c, r)
		w.Clusters = append(w.Clusters, c)
	}
	jobNames := []string{"nightly-etl", "hourly-ingest", "feature-refresh", "dq-checks", "report-export", "model-train", "compaction", "gdpr-purge"}
	for i := 0; i < s.Jobs; i++ {
		r := stream(s.Seed, "job", i)
		id, _ := strconv.ParseInt(jobID(s, i), 10, 64)
		j := &SimJob{ID: id, Name: fmt.Sprintf("%s-%d", jobNames[i%len(jobNames)], i/len(jobNames)+1),
			Creator: pick(r, pop.Users).Email, CreatedAt: start.Add(-time.Duration(24*(30+r.IntN(300))) * time.Hour),
			ClusterID: clusterID(s, r.IntN(max(1, s.Clusters)))}
		w.Jobs = append(w.Jobs, j)
		w.runs(j, i, r.IntN(60))
	}
	sort.Slice(w.Runs, func(i, k int) bool {
		if !w.Runs[i].Start.Equal(w.Runs[k].Start) {
			return w.Runs[i].Start.After(w.Runs[k].Start)
		}
		return w.Runs[i].RunID > w.Runs[k].RunID
	})
	sizes := []string{"2X-Small", "Small", "Medium", "Large"}
	for i := 0; i < s.Warehouses; i++ {
		r := stream(s.Seed, "warehouse", i)
		w.Warehouses = append(w.Warehouses, &SimWarehouse{ID: stableHex(16, s.Seed, "wh", i), Name: fmt.Sprintf("warehouse-%d", i+1),
			Size: pick(r, sizes), Creator: pick(r, pop.Users).Email, Serverless: i%2 == 1, MaxClusters: 1 + r.IntN(4)})
	}
	return w
}

func (w *Workspace) lifecycle(c *SimCluster, r interface {
	IntN(int) int
	Float64() float64
}) {
	add := func(t time.Time, typ compute.EventType, d *compute.EventDetails) {
		c.Events = append(c.Events, compute.ClusterEvent{ClusterId: c.ID, Timestamp: t.UnixMilli(), Type: typ, Details: d})
	}
	add(c.CreatedAt, compute.EventTypeCreating, &compute.EventDetails{User: c.Creator})
	t := c.CreatedAt
	horizon := w.end.Add(24 * time.Hour)
	for t.Before(horizon) {
		add(t, compute.EventTypeStarting, &compute.EventDetails{User: c.Creator})
		if r.Float64() < 0.08 {
			add(t.Add(3*time.Minute), compute.EventTypeTerminating, &compute.EventDetails{Reason: &compute.TerminationReason{
				Code: compute.TerminationReasonCodeCloudProviderLaunchFailure, Type: compute.TerminationReasonTypeCloudFailure,
				Parameters: map[string]string{"databricks_error_message": "Cloud provider launch failure: insufficient capacity"}}})
			t = t.Add(time.Duration(10+r.IntN(60)) * time.Minute)
			continue
		}
		workers := c.MinWorkers
		up := t.Add(time.Duration(3+r.IntN(4)) * time.Minute)
		add(up, compute.EventTypeRunning, &compute.EventDetails{CurrentNumWorkers: workers, TargetNumWorkers: workers})
		runFor := time.Duration(1+r.IntN(10)) * time.Hour
		end := up.Add(runFor)
		from := up
		for rt := up.Add(time.Duration(20+r.IntN(60)) * time.Minute); c.Autoscale && rt.Before(end); rt = rt.Add(time.Duration(30+r.IntN(90)) * time.Minute) {
			target := c.MinWorkers + r.IntN(c.MaxWorkers-c.MinWorkers+1)
			if target == workers {
				continue
			}
			add(rt, compute.EventTypeResizing, &compute.EventDetails{CurrentNumWorkers: workers, TargetNumWorkers: target, Cause: compute.EventDetailsCauseAutoscale})
			add(rt.Add(2*time.Minute), compute.EventTypeUpsizeCompleted, &compute.EventDetails{CurrentNumWorkers: target, TargetNumWorkers: target})
			c.Running = append(c.Running, runningSpan{from, rt.Add(2 * time.Minute), workers})
			from, workers = rt.Add(2*time.Minute), target
		}
		if r.Float64() < 0.05 {
			add(from.Add(end.Sub(from)/2), compute.EventTypeDriverNotResponding, &compute.EventDetails{DriverStateMessage: "Driver is temporarily unavailable"})
		}
		reason := &compute.TerminationReason{Code: compute.TerminationReasonCodeInactivity, Type: compute.TerminationReasonTypeSuccess,
			Parameters: map[string]string{"inactivity_duration_min": "60"}}
		if r.Float64() < 0.1 {
			reason = &compute.TerminationReason{Code: compute.TerminationReasonCodeDriverUnreachable, Type: compute.TerminationReasonTypeServiceFault}
		}
		add(end, compute.EventTypeTerminating, &compute.EventDetails{Reason: reason})
		c.Running = append(c.Running, runningSpan{from, end, workers})
		t = end.Add(time.Duration(1+r.IntN(12)) * time.Hour)
	}
}

func (w *Workspace) runs(j *SimJob, idx, minute int) {
	period := time.Duration(float64(24*time.Hour) / w.s.RunsPerJobPerDay)
	j.Cron = fmt.Sprintf("0 %d 0/%d * * ?", minute, max(1, int(period.Hours())))
	first := w.start.Add(-24 * time.Hour).Truncate(time.Hour).Add(time.Duration(minute) * time.Minute)
	n := int64(0)
	for t := first; t.Before(w.end); t = t.Add(period) {
		n++
		r := stream(w.s.Seed, "run", j.ID, n)
		run := &SimRun{RunID: j.ID%1000000*1000000 + n, Job: j, Number: n, Start: t.Add(time.Duration(r.IntN(20)) * time.Second),
			Queue: time.Duration(r.IntN(30)) * time.Second}
		dur := time.Duration(3+r.IntN(40)) * time.Minute
		switch x := r.Float64(); {
		case x < 0.85:
			run.Result = jobs.RunResultStateSuccess
		case x < 0.93:
			run.Result = jobs.RunResultStateFailed
		case x < 0.97:
			run.Result = jobs.RunResultStateTimedout
			dur = time.Hour
		default:
			run.Result = jobs.RunResultStateCanceled
		}
		run.End = run.Start.Add(dur)
		w.Runs = append(w.Runs, run)
	}
}

// clusterAt is the SDK view of a cluster at instant now; ok is false before it was created.
func (w *Workspace) clusterAt(c *SimCluster, now time.Time) (compute.ClusterDetails, bool) {
	ms := now.UnixMilli()
	if c.CreatedAt.After(now) {
		return compute.ClusterDetails{}, false
	}
	nt := nodeTypes[0]
	for _, n := range nodeTypes {
		if n.id == c.NodeType {
			nt = n
		}
	}
	d := compute.ClusterDetails{
		ClusterId: c.ID, ClusterName: c.Name, CreatorUserName: c.Creator, SparkVersion: c.SparkVersion,
		NodeTypeId: c.NodeType, DriverNodeTypeId: c.NodeType, ClusterSource: c.Source,
		AutoterminationMinutes: 60, DataSecurityMode: compute.DataSecurityModeUserIsolation,
		SparkContextId: int64(c.idx + 1000), JdbcPort: 10000,
		DefaultTags: map[string]string{"Vendor": "Databricks", "Creator": c.Creator, "ClusterName": c.Name, "ClusterId": c.ID},
		CustomTags:  map[string]string{"team": "data"},
	}
	if c.Autoscale {
		d.Autoscale = &compute.AutoScale{MinWorkers: c.MinWorkers, MaxWorkers: c.MaxWorkers}
	}
	state := compute.StateTerminated
	workers := 0
	var lastStart int64
	for _, e := range c.Events {
		if e.Timestamp > ms {
			break
		}
		switch e.Type {
		case compute.EventTypeCreating, compute.EventTypeStarting:
			state, lastStart = compute.StatePending, e.Timestamp
			d.TerminationReason, d.TerminatedTime = nil, 0
		case compute.EventTypeRunning, compute.EventTypeUpsizeCompleted, compute.EventTypeDriverNotResponding:
			state, workers = compute.StateRunning, e.Details.CurrentNumWorkers
			if e.Type == compute.EventTypeDriverNotResponding {
				workers = max(workers, c.MinWorkers)
			}
		case compute.EventTypeResizing:
			state = compute.StateResizing
		case compute.EventTypeTerminating:
			state, d.TerminationReason = compute.StateTerminating, e.Details.Reason
			if ms-e.Timestamp > 60_000 {
				state, d.TerminatedTime = compute.StateTerminated, e.Timestamp+60_000
			}
		}
	}
	d.State = state
	d.StartTime = lastStart
	if state == compute.StateTerminated || state == compute.StateTerminating {
		workers = 0
		if d.TerminationReason != nil {
			d.StateMessage = string(d.TerminationReason.Code)
		}
	}
	d.NumWorkers = workers
	if workers > 0 || state == compute.StateRunning {
		d.ClusterCores = nt.cores * float64(workers+1)
		d.ClusterMemoryMb = nt.memory * int64(workers+1)
		d.Driver = &compute.SparkNode{NodeId: stableHex(32, c.ID, "driver"), InstanceId: instanceID(c.ID, 0), HostPrivateIp: privateIP(c.idx, 0), StartTimestamp: lastStart}
	}
	if !c.Autoscale {
		d.NumWorkers = c.MinWorkers // fixed-size clusters report their configured size
	}
	d.ForceSendFields = []string{"NumWorkers"}
	return d, true
}

func instanceID(clusterID string, node int) string {
	return "i-" + stableHex(17, clusterID, "node", node)
}
func privateIP(cluster, node int) string {
	return fmt.Sprintf("10.%d.%d.%d", 30+cluster/250, cluster%250, 10+node)
}

// runAt is the SDK view of a run at instant now; ok is false before it started.
func (w *Workspace) runAt(r *SimRun, now time.Time) (jobs.BaseRun, bool) {
	if r.Start.After(now) {
		return jobs.BaseRun{}, false
	}
	host := "https://" + w.s.Workspace.Name + ".cloud.databricks.com"
	b := jobs.BaseRun{
		JobId: r.Job.ID, RunId: r.RunID, RunName: r.Job.Name, NumberInJob: r.Number, OriginalAttemptRunId: r.RunID,
		CreatorUserName: r.Job.Creator, StartTime: r.Start.UnixMilli(), RunType: jobs.RunTypeJobRun, Trigger: jobs.TriggerTypePeriodic,
		RunPageUrl:      fmt.Sprintf("%s/?o=%s#job/%d/run/%d", host, w.s.Workspace.ID, r.Job.ID, r.RunID),
		ClusterInstance: &jobs.ClusterInstance{ClusterId: r.Job.ClusterID, SparkContextId: strconv.FormatInt(r.RunID%997, 10)},
		QueueDuration:   r.Queue.Milliseconds(),
		ForceSendFields: []string{"AttemptNumber"},
	}
	if now.Before(r.End) {
		b.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning, StateMessage: "In run"}
		b.Status = &jobs.RunStatus{State: jobs.RunLifecycleStateV2StateRunning}
		return b, true
	}
	b.EndTime = r.End.UnixMilli()
	total := r.End.Sub(r.Start)
	b.SetupDuration = (total / 10).Milliseconds()
	b.ExecutionDuration = (total * 8 / 10).Milliseconds()
	b.CleanupDuration = total.Milliseconds() - b.SetupDuration - b.ExecutionDuration
	b.RunDuration = total.Milliseconds()
	msg, code, typ := "", jobs.TerminationCodeCodeSuccess, jobs.TerminationTypeTypeSuccess
	switch r.Result {
	case jobs.RunResultStateFailed:
		msg, code, typ = "Task ingest failed with message: AnalysisException: Table or view not found", jobs.TerminationCodeCodeRunExecutionError, jobs.TerminationTypeTypeClientError
	case jobs.RunResultStateTimedout:
		msg, code, typ = "Run timed out after 3600 seconds", jobs.TerminationCodeCodeRunExecutionError, jobs.TerminationTypeTypeClientError
	case jobs.RunResultStateCanceled:
		msg, code, typ = "Run cancelled by user", jobs.TerminationCodeCodeUserCanceled, jobs.TerminationTypeTypeSuccess
	}
	b.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: r.Result, StateMessage: msg,
		UserCancelledOrTimedout: r.Result == jobs.RunResultStateTimedout || r.Result == jobs.RunResultStateCanceled}
	b.Status = &jobs.RunStatus{State: jobs.RunLifecycleStateV2StateTerminated,
		TerminationDetails: &jobs.TerminationDetails{Code: code, Type: typ, Message: msg}}
	return b, true
}

// warehouseAt is the SDK view of a warehouse at instant now.
func (w *Workspace) warehouseAt(wh *SimWarehouse, now time.Time) sql.EndpointInfo {
	running := warehouseRunning(now)
	info := sql.EndpointInfo{
		Id: wh.ID, Name: wh.Name, ClusterSize: wh.Size, CreatorName: wh.Creator, AutoStopMins: 10,
		MinNumClusters: 1, MaxNumClusters: wh.MaxClusters, EnableServerlessCompute: wh.Serverless, EnablePhoton: true,
		WarehouseType: sql.EndpointInfoWarehouseTypePro, SpotInstancePolicy: sql.SpotInstancePolicyCostOptimized,
		JdbcUrl: fmt.Sprintf("jdbc:spark://%s.cloud.databricks.com:443/default;transportMode=http;ssl=1;AuthMech=3;httpPath=/sql/1.0/warehouses/%s", w.s.Workspace.Name, wh.ID),
		Channel: &sql.Channel{Name: sql.ChannelNameChannelNameCurrent},
	}
	if running {
		info.State, info.NumClusters = sql.StateRunning, 1
		info.NumActiveSessions = int64(now.Minute() % 5)
		info.Health = &sql.EndpointHealth{Status: sql.StatusHealthy}
	} else {
		info.State = sql.StateStopped
		info.ForceSendFields = []string{"NumClusters"}
	}
	return info
}

func warehouseRunning(t time.Time) bool {
	wd := t.UTC().Weekday()
	return wd != time.Saturday && wd != time.Sunday && t.UTC().Hour() >= 6 && t.UTC().Hour() < 18
}
