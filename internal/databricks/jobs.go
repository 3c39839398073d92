package databricks

import (
	"context"
	"errors"
	"net/http"

	"github.com/databricks/databricks-sdk-go/service/jobs"
)

const (
	pathJobsList = "/api/2.2/jobs/list"
	pathRunsList = "/api/2.2/jobs/runs/list"
	// API maxima: 100 jobs and 25 runs per page.
	jobsPageSize = 100
	runsPageSize = 25
)

// RunsQuery filters ListRuns; zero fields are not sent.
type RunsQuery struct {
	// StartTimeFrom and StartTimeTo bound the run start time, epoch milliseconds.
	StartTimeFrom, StartTimeTo int64
	// ActiveOnly and CompletedOnly are mutually exclusive.
	ActiveOnly, CompletedOnly bool
	JobID                     int64
}

// ListJobs returns every job, following next_page_token to the end.
func (c *Client) ListJobs(ctx context.Context) ([]jobs.BaseJob, error) {
	return collectTokenPages(ctx, http.MethodGet+" "+pathJobsList,
		func(ctx context.Context, token string) ([]jobs.BaseJob, string, error) {
			query := queryParams(map[string]any{"limit": jobsPageSize, "page_token": token})
			var page jobs.ListJobsResponse
			err := c.call(ctx, retryIdempotent, http.MethodGet, pathJobsList, query, nil, &page)
			return page.Jobs, page.NextPageToken, err
		})
}

// ListRuns returns every run matching q (newest first, as the API sorts them), following
// next_page_token to the end.
func (c *Client) ListRuns(ctx context.Context, q RunsQuery) ([]jobs.BaseRun, error) {
	if q.ActiveOnly && q.CompletedOnly {
		return nil, errors.New("ListRuns: ActiveOnly and CompletedOnly are mutually exclusive")
	}
	return collectTokenPages(ctx, http.MethodGet+" "+pathRunsList,
		func(ctx context.Context, token string) ([]jobs.BaseRun, string, error) {
			query := queryParams(map[string]any{
				"limit":           runsPageSize,
				"page_token":      token,
				"start_time_from": q.StartTimeFrom,
				"start_time_to":   q.StartTimeTo,
				"active_only":     q.ActiveOnly,
				"completed_only":  q.CompletedOnly,
				"job_id":          q.JobID,
			})
			var page jobs.ListRunsResponse
			err := c.call(ctx, retryIdempotent, http.MethodGet, pathRunsList, query, nil, &page)
			return page.Runs, page.NextPageToken, err
		})
}
