// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/jobs"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// runOverlap is how far before the previous query the next completed-runs query starts: it
// absorbs clock skew between the collector and Databricks; duplicates are skipped by run id.
const runOverlap = 5 * time.Minute

// vanishedRunTTL bounds how long an active run that can no longer be found (e.g. deleted) is
// looked for before it is forgotten.
const vanishedRunTTL = 7 * 24 * time.Hour

type jobsResult struct {
	jobsOK bool
	jobs   []jobs.BaseJob

	runsOK       bool
	active       []jobs.BaseRun
	finished     []jobs.BaseRun // finished since the last scrape, not yet reported, oldest end first
	stillTracked map[int64]trackedRun
	queriedUntil int64
}

// fetchJobs lists jobs and runs. API calls: one paged jobs list, one paged list of active runs,
// one paged list of runs completed since the previous scrape (minus runOverlap), and one small
// list per run that was active last time, started before that window and has finished since.
func (s *dbxScraper) fetchJobs(ctx context.Context, now time.Time) *jobsResult {
	res := &jobsResult{stillTracked: map[int64]trackedRun{}}
	if list, err := s.api.ListJobs(ctx); err != nil {
		s.failures.failed(ctx, sourceJobs, err)
	} else {
		s.failures.succeeded(sourceJobs)
		res.jobsOK, res.jobs = true, list
		for i := range list {
			if list[i].Settings != nil {
				s.jobNames[list[i].JobId] = list[i].Settings.Name
			}
		}
	}

	nowMs := now.UnixMilli()
	active, err := s.api.ListRuns(ctx, runsQuery{ActiveOnly: true})
	if err != nil {
		s.failures.failed(ctx, sourceJobRuns, fmt.Errorf("active runs: %w", err))
		return res
	}
	from := max(s.jobs.QueriedUntil, s.jobs.InitializedAt) - runOverlap.Milliseconds()
	completed, err := s.api.ListRuns(ctx, runsQuery{CompletedOnly: true, StartTimeFrom: from})
	if err != nil {
		s.failures.failed(ctx, sourceJobRuns, fmt.Errorf("completed runs: %w", err))
		return res
	}

	isActive := make(map[int64]bool, len(active))
	for i := range active {
		isActive[active[i].RunId] = true
	}
	candidates := completed
	lateFailed := false
	for _, id := range sortedRunIDs(s.jobs.Active) {
		tr := s.jobs.Active[id]
		if _, done := s.jobs.Emitted[id]; done || isActive[id] || tr.StartTime >= from {
			continue
		}
		runs, err := s.api.ListRuns(ctx, runsQuery{CompletedOnly: true, JobID: tr.JobID, StartTimeFrom: tr.StartTime, StartTimeTo: tr.StartTime})
		if err != nil {
			lateFailed = true
			s.failures.failed(ctx, sourceJobRuns, fmt.Errorf("run %d of job %d: %w", id, tr.JobID, err))
			res.stillTracked[id] = tr
			continue
		}
		found := false
		for i := range runs {
			if runs[i].RunId == id {
				candidates = append(candidates, runs[i])
				found = true
			}
		}
		if !found && nowMs-tr.StartTime < vanishedRunTTL.Milliseconds() {
			res.stillTracked[id] = tr
		}
	}
	if !lateFailed {
		s.failures.succeeded(sourceJobRuns)
	}

	seen := map[int64]bool{}
	for i := range candidates {
		r := candidates[i]
		if _, done := s.jobs.Emitted[r.RunId]; done || seen[r.RunId] || r.EndTime <= 0 || isActive[r.RunId] {
			continue
		}
		seen[r.RunId] = true
		// Runs that ended before the receiver first ran are history, not news.
		if r.EndTime < s.jobs.InitializedAt {
			continue
		}
		res.finished = append(res.finished, r)
	}
	sort.Slice(res.finished, func(i, j int) bool {
		a, b := res.finished[i], res.finished[j]
		if a.EndTime != b.EndTime {
			return a.EndTime < b.EndTime
		}
		return a.RunId < b.RunId
	})
	res.runsOK, res.active, res.queriedUntil = true, active, nowMs
	return res
}

// commitJobs marks the delivered runs as reported and folds them into the cumulative metrics.
func (s *dbxScraper) commitJobs(res *jobsResult) {
	if !res.runsOK {
		return
	}
	for i := range res.finished {
		r := &res.finished[i]
		s.jobs.Emitted[r.RunId] = r.StartTime
		st := s.jobRunStats[r.JobId]
		if st == nil {
			st = &jobRunStats{counts: map[string]int64{}, durations: map[string]*durationHistogram{}}
			s.jobRunStats[r.JobId] = st
		}
		result := runResult(r)
		st.counts[result]++
		h := st.durations[result]
		if h == nil {
			h = newDurationHistogram()
			st.durations[result] = h
		}
		h.observe(runDurationSeconds(r))
	}
	s.jobs.Active = res.stillTracked
	for i := range res.active {
		r := &res.active[i]
		s.jobs.Active[r.RunId] = trackedRun{JobID: r.JobId, StartTime: r.StartTime}
	}
	s.jobs.QueriedUntil = res.queriedUntil
	horizon := res.queriedUntil - runOverlap.Milliseconds()
	for id, start := range s.jobs.Emitted {
		if start < horizon {
			delete(s.jobs.Emitted, id)
		}
	}
	s.dirty[stateKeyJobs] = true
}

type jobRunStats struct {
	counts    map[string]int64
	durations map[string]*durationHistogram
}

// recordJobs emits per-job metrics. When the runs could not be listed nothing is emitted: an
// absent series is honest, a zero would claim that no run is active.
func (s *dbxScraper) recordJobs(res *jobsResult, now pcommon.Timestamp) {
	if !res.runsOK {
		return
	}
	activeByJob := map[int64]map[string]int64{}
	for i := range res.active {
		r := &res.active[i]
		if activeByJob[r.JobId] == nil {
			activeByJob[r.JobId] = map[string]int64{}
		}
		activeByJob[r.JobId][runState(r)]++
	}
	ids := map[int64]bool{}
	for id := range activeByJob {
		ids[id] = true
	}
	for id := range s.prevActive {
		ids[id] = true
	}
	for id := range s.jobRunStats {
		ids[id] = true
	}
	for _, id := range sortedInt64s(ids) {
		states := activeByJob[id]
		for _, state := range sortedKeys(states) {
			s.mb.RecordDatabricksJobRunsActiveDataPoint(now, states[state], state)
		}
		// A state that had runs last time and has none now reports 0 once, so that the
		// series drops to zero instead of freezing at its last value.
		for _, state := range sortedKeys(s.prevActive[id]) {
			if _, ok := states[state]; !ok {
				s.mb.RecordDatabricksJobRunsActiveDataPoint(now, 0, state)
			}
		}
		if st := s.jobRunStats[id]; st != nil {
			for _, result := range sortedKeys(st.counts) {
				s.mb.RecordDatabricksJobRunsDataPoint(now, st.counts[result], result)
			}
		}
		rb := s.resourceBuilder()
		rb.SetDatabricksJobID(strconv.FormatInt(id, 10))
		if name, ok := s.jobNames[id]; ok {
			rb.SetDatabricksJobName(name)
		}
		res := rb.Emit()
		if st := s.jobRunStats[id]; st != nil && s.cfg.Metrics.DatabricksJobRunDuration.Enabled {
			s.histograms = append(s.histograms, pendingHistogram{resource: res, byResult: st.durations})
		}
		s.mb.EmitForResource(metadata.WithResource(res))
	}
	s.prevActive = activeByJob
}

// runState is the run's life-cycle state, preferring the v2 status over the deprecated state.
func runState(r *jobs.BaseRun) string {
	if r.Status != nil && r.Status.State != "" {
		return string(r.Status.State)
	}
	if r.State != nil && r.State.LifeCycleState != "" {
		return string(r.State.LifeCycleState)
	}
	return "UNKNOWN"
}

// runResult is the result_state of a finished run (SUCCESS, FAILED, TIMEDOUT, CANCELED, ...),
// falling back to the v2 termination code when the deprecated state is absent.
func runResult(r *jobs.BaseRun) string {
	if r.State != nil && r.State.ResultState != "" {
		return string(r.State.ResultState)
	}
	if r.Status != nil && r.Status.TerminationDetails != nil && r.Status.TerminationDetails.Code != "" {
		return string(r.Status.TerminationDetails.Code)
	}
	return "UNKNOWN"
}

// runDurationSeconds prefers run_duration (multitask runs report 0 phase durations), then the
// sum of the phases, then end - start.
func runDurationSeconds(r *jobs.BaseRun) float64 {
	ms := r.RunDuration
	if ms <= 0 {
		ms = r.SetupDuration + r.ExecutionDuration + r.CleanupDuration
	}
	if ms <= 0 && r.EndTime > r.StartTime {
		ms = r.EndTime - r.StartTime
	}
	return float64(ms) / 1000
}
