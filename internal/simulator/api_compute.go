package simulator

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"
)

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) {
	now := s.Now()
	var all []compute.ClusterDetails
	for _, c := range s.world.Workspace.Clusters {
		if d, ok := s.world.Workspace.clusterAt(c, now); ok {
			all = append(all, d)
		}
	}
	lo, hi, next, ok := s.page(w, r, len(all), "page_size", s.opts.PageSize)
	if !ok {
		return
	}
	resp := compute.ListClustersResponse{Clusters: all[lo:hi], NextPageToken: next}
	if lo > 0 {
		resp.PrevPageToken = encodePageToken(max(0, lo-(hi-lo)))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) findCluster(w http.ResponseWriter, id string) (*SimCluster, bool) {
	for _, c := range s.world.Workspace.Clusters {
		if c.ID == id && !c.CreatedAt.After(s.Now()) {
			return c, true
		}
	}
	writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Cluster "+id+" does not exist")
	return nil, false
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request) {
	c, ok := s.findCluster(w, r.URL.Query().Get("cluster_id"))
	if !ok {
		return
	}
	d, _ := s.world.Workspace.clusterAt(c, s.Now())
	writeJSON(w, http.StatusOK, d)
}

// clusterEvents serves both paging styles: the legacy offset/limit with a next_page request
// object (which the SDK iterator follows), and page_size/page_token.
func (s *Server) clusterEvents(w http.ResponseWriter, r *http.Request) {
	var req compute.GetEvents
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request")
		return
	}
	if req.ClusterId == "" {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Missing required field: cluster_id")
		return
	}
	c, ok := s.findCluster(w, req.ClusterId)
	if !ok {
		return
	}
	nowMs := s.Now().UnixMilli()
	types := map[compute.EventType]bool{}
	for _, t := range req.EventTypes {
		types[t] = true
	}
	var evs []compute.ClusterEvent
	for _, e := range c.Events {
		if e.Timestamp > nowMs || (req.StartTime > 0 && e.Timestamp < req.StartTime) || (req.EndTime > 0 && e.Timestamp > req.EndTime) {
			continue
		}
		if len(types) > 0 && !types[e.Type] {
			continue
		}
		evs = append(evs, e)
	}
	if req.Order != compute.GetEventsOrderAsc {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp > evs[j].Timestamp })
	}
	resp := compute.GetEventsResponse{}
	if req.PageSize > 0 || req.PageToken != "" {
		off, valid := decodePageToken(req.PageToken)
		if !valid {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid page token")
			return
		}
		size := req.PageSize
		if size <= 0 || size > 500 {
			size = 50
		}
		lo, hi := min(off, len(evs)), min(off+size, len(evs))
		resp.Events = evs[lo:hi]
		if hi < len(evs) {
			resp.NextPageToken = encodePageToken(hi)
			nextReq := req
			nextReq.PageToken = resp.NextPageToken
			resp.NextPage = &nextReq
		}
		if lo > 0 {
			resp.PrevPageToken = encodePageToken(max(0, lo-size))
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "limit must be between 1 and 500")
		return
	}
	lo, hi := min(int(req.Offset), len(evs)), min(int(req.Offset+limit), len(evs))
	resp.Events = evs[lo:hi]
	resp.TotalCount = int64(len(evs))
	if hi < len(evs) {
		nextReq := req
		nextReq.Offset = int64(hi)
		nextReq.Limit = limit
		resp.NextPage = &nextReq
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	now := s.Now()
	var all []jobs.BaseJob
	for _, j := range s.world.Workspace.Jobs {
		if j.CreatedAt.After(now) {
			continue
		}
		all = append(all, jobs.BaseJob{JobId: j.ID, CreatorUserName: j.Creator, CreatedTime: j.CreatedAt.UnixMilli(),
			Settings: &jobs.JobSettings{Name: j.Name, MaxConcurrentRuns: 1, TimeoutSeconds: 3600, Format: jobs.FormatMultiTask,
				Schedule: &jobs.CronSchedule{QuartzCronExpression: j.Cron, TimezoneId: "UTC", PauseStatus: jobs.PauseStatusUnpaused},
				Tags:     map[string]string{"owner": j.Creator}}})
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	q := r.URL.Query()
	q.Del("limit")
	r.URL.RawQuery = q.Encode()
	lo, hi, next, ok := s.page(w, r, len(all), "limit", limit)
	if !ok {
		return
	}
	resp := jobs.ListJobsResponse{Jobs: all[lo:hi], HasMore: next != "", NextPageToken: next}
	if lo > 0 {
		resp.PrevPageToken = encodePageToken(max(0, lo-limit))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.Now()
	parseInt := func(name string) (int64, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", name+" must be an integer")
			return 0, false
		}
		return n, true
	}
	jobID, ok1 := parseInt("job_id")
	from, ok2 := parseInt("start_time_from")
	to, ok3 := parseInt("start_time_to")
	lim, ok4 := parseInt("limit")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return
	}
	active, completed := q.Get("active_only") == "true", q.Get("completed_only") == "true"
	if active && completed {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "active_only and completed_only cannot both be true")
		return
	}
	if lim < 0 || lim > 25 {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "limit must be between 0 and 25")
		return
	}
	if lim == 0 {
		lim = 25
	}
	// Runs are sorted newest first: the visible time window is a contiguous range found by
	// binary search, and API objects are built only for the page served (bench scale has tens
	// of thousands of runs).
	runs := s.world.Workspace.Runs
	upper := now.UnixMilli()
	if to > 0 && to < upper {
		upper = to
	}
	i0 := sort.Search(len(runs), func(i int) bool { return runs[i].Start.UnixMilli() <= upper })
	i1 := len(runs)
	if from > 0 {
		i1 = sort.Search(len(runs), func(i int) bool { return runs[i].Start.UnixMilli() < from })
	}
	matched := runs[i0:max(i0, i1)]
	if jobID != 0 || active || completed {
		var kept []*SimRun
		for _, run := range matched {
			running := now.Before(run.End)
			if (jobID != 0 && run.Job.ID != jobID) || (active && !running) || (completed && running) {
				continue
			}
			kept = append(kept, run)
		}
		matched = kept
	}
	q.Del("limit")
	r.URL.RawQuery = q.Encode()
	lo, hi, next, ok := s.page(w, r, len(matched), "limit", int(lim))
	if !ok {
		return
	}
	page := make([]json.RawMessage, 0, hi-lo)
	for _, run := range matched[lo:hi] {
		page = append(page, s.runJSON(run, now))
	}
	resp := struct {
		Runs          []json.RawMessage `json:"runs,omitempty"`
		HasMore       bool              `json:"has_more,omitempty"`
		NextPageToken string            `json:"next_page_token,omitempty"`
		PrevPageToken string            `json:"prev_page_token,omitempty"`
	}{Runs: page, HasMore: next != "", NextPageToken: next}
	if lo > 0 {
		resp.PrevPageToken = encodePageToken(max(0, lo-int(lim)))
	}
	writeJSON(w, http.StatusOK, resp)
}

// runWire is the JSON of jobs.BaseRun for the fields the simulator sets. The SDK's reflective
// encoder costs milliseconds per run, too slow for bench-scale run lists; a test keeps the two
// encodings identical.
type runWire struct {
	AttemptNumber        int                   `json:"attempt_number"`
	CleanupDuration      int64                 `json:"cleanup_duration,omitempty"`
	ClusterInstance      *jobs.ClusterInstance `json:"cluster_instance,omitempty"`
	CreatorUserName      string                `json:"creator_user_name,omitempty"`
	EndTime              int64                 `json:"end_time,omitempty"`
	ExecutionDuration    int64                 `json:"execution_duration,omitempty"`
	JobID                int64                 `json:"job_id,omitempty"`
	NumberInJob          int64                 `json:"number_in_job,omitempty"`
	OriginalAttemptRunID int64                 `json:"original_attempt_run_id,omitempty"`
	QueueDuration        int64                 `json:"queue_duration,omitempty"`
	RunDuration          int64                 `json:"run_duration,omitempty"`
	RunID                int64                 `json:"run_id,omitempty"`
	RunName              string                `json:"run_name,omitempty"`
	RunPageURL           string                `json:"run_page_url,omitempty"`
	RunType              jobs.RunType          `json:"run_type,omitempty"`
	SetupDuration        int64                 `json:"setup_duration,omitempty"`
	StartTime            int64                 `json:"start_time,omitempty"`
	State                *stateWire            `json:"state,omitempty"`
	Status               *statusWire           `json:"status,omitempty"`
	Trigger              jobs.TriggerType      `json:"trigger,omitempty"`
}

type stateWire struct {
	LifeCycleState          jobs.RunLifeCycleState `json:"life_cycle_state,omitempty"`
	ResultState             jobs.RunResultState    `json:"result_state,omitempty"`
	StateMessage            string                 `json:"state_message,omitempty"`
	UserCancelledOrTimedout bool                   `json:"user_cancelled_or_timedout,omitempty"`
}

type statusWire struct {
	State              jobs.RunLifecycleStateV2State `json:"state,omitempty"`
	TerminationDetails *terminationWire              `json:"termination_details,omitempty"`
}

type terminationWire struct {
	Code    jobs.TerminationCodeCode `json:"code,omitempty"`
	Message string                   `json:"message,omitempty"`
	Type    jobs.TerminationTypeType `json:"type,omitempty"`
}

func toRunWire(b jobs.BaseRun) runWire {
	w := runWire{AttemptNumber: b.AttemptNumber, CleanupDuration: b.CleanupDuration, ClusterInstance: b.ClusterInstance,
		CreatorUserName: b.CreatorUserName, EndTime: b.EndTime, ExecutionDuration: b.ExecutionDuration, JobID: b.JobId,
		NumberInJob: b.NumberInJob, OriginalAttemptRunID: b.OriginalAttemptRunId, QueueDuration: b.QueueDuration,
		RunDuration: b.RunDuration, RunID: b.RunId, RunName: b.RunName, RunPageURL: b.RunPageUrl, RunType: b.RunType,
		SetupDuration: b.SetupDuration, StartTime: b.StartTime, Trigger: b.Trigger}
	if b.State != nil {
		w.State = &stateWire{LifeCycleState: b.State.LifeCycleState, ResultState: b.State.ResultState, StateMessage: b.State.StateMessage,
			UserCancelledOrTimedout: b.State.UserCancelledOrTimedout}
	}
	if b.Status != nil {
		w.Status = &statusWire{State: b.Status.State}
		if td := b.Status.TerminationDetails; td != nil {
			w.Status.TerminationDetails = &terminationWire{Code: td.Code, Message: td.Message, Type: td.Type}
		}
	}
	return w
}

func (s *Server) runJSON(run *SimRun, now time.Time) json.RawMessage {
	b, _ := s.world.Workspace.runAt(run, now)
	raw, err := json.Marshal(toRunWire(b))
	if err != nil {
		return json.RawMessage(`{}`) // plain values only: cannot happen
	}
	return raw
}

func (s *Server) listWarehouses(w http.ResponseWriter, r *http.Request) {
	now := s.Now()
	var all []sql.EndpointInfo
	for _, wh := range s.world.Workspace.Warehouses {
		all = append(all, s.world.Workspace.warehouseAt(wh, now))
	}
	lo, hi, next, ok := s.page(w, r, len(all), "page_size", s.opts.PageSize)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, sql.ListWarehousesResponse{Warehouses: all[lo:hi], NextPageToken: next})
}

func (s *Server) getWarehouse(w http.ResponseWriter, r *http.Request) {
	wh := s.warehouse(r.PathValue("id"))
	if wh == nil {
		writeError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "Warehouse "+r.PathValue("id")+" does not exist")
		return
	}
	info := s.world.Workspace.warehouseAt(wh, s.Now())
	writeJSON(w, http.StatusOK, sql.GetWarehouseResponse{Id: info.Id, Name: info.Name, State: info.State, ClusterSize: info.ClusterSize,
		NumClusters: info.NumClusters, MaxNumClusters: info.MaxNumClusters, MinNumClusters: info.MinNumClusters, CreatorName: info.CreatorName,
		EnableServerlessCompute: info.EnableServerlessCompute, AutoStopMins: info.AutoStopMins, Health: info.Health, JdbcUrl: info.JdbcUrl,
		WarehouseType: sql.GetWarehouseResponseWarehouseType(info.WarehouseType), EnablePhoton: info.EnablePhoton})
}

func (s *Server) warehouse(id string) *SimWarehouse {
	for _, wh := range s.world.Workspace.Warehouses {
		if wh.ID == id {
			return wh
		}
	}
	return nil
}
