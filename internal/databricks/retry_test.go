package databricks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func warehousesOK(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"warehouses": []map[string]any{{"id": "wh1", "name": "audit"}}})
}

func TestRetryAfterIsHonouredOn429(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.0/sql/warehouses", failFirst(1, http.StatusTooManyRequests, "2", warehousesOK))
	c := fw.client()

	start := time.Now()
	whs, err := c.ListWarehouses(context.Background())
	elapsed := time.Since(start)

	require.NoError(t, err)
	require.Len(t, whs, 1)
	assert.Equal(t, "wh1", whs[0].Id)
	assert.GreaterOrEqual(t, elapsed, 2*time.Second, "Retry-After: 2 must be waited out")
	assert.Less(t, elapsed, 4*time.Second)
	assert.Equal(t, 2, fw.count("GET /api/2.0/sql/warehouses"), "one throttled attempt and one retry, no storm")
	assert.Equal(t, Stats{Requests: 2, Errors: 1, Throttles: 1, Retries: 1,
		ErrorsByClass: [NumErrorClasses]int64{ErrorClass4xx: 1}, RetriesByClass: [NumErrorClasses]int64{ErrorClass4xx: 1}}, c.Stats())
}

func TestRetryAfterAsHTTPDate(t *testing.T) {
	fw := newFakeWorkspace(t)
	// HTTP dates have one-second resolution; two seconds ahead means a wait of 1-2 s.
	at := time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
	fw.handle("GET /api/2.0/sql/warehouses", failFirst(1, http.StatusServiceUnavailable, at, warehousesOK))

	start := time.Now()
	_, err := fw.client().ListWarehouses(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
	assert.Equal(t, 2, fw.count("GET /api/2.0/sql/warehouses"))
}

func TestTransientFailuresBackOffAndSucceed(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		failures      int
		wantThrottles int64
		wantClass     ErrorClass
	}{
		{"503 without Retry-After", http.StatusServiceUnavailable, 2, 2, ErrorClass5xx},
		{"429 without Retry-After", http.StatusTooManyRequests, 1, 1, ErrorClass4xx},
		{"500", http.StatusInternalServerError, 3, 0, ErrorClass5xx},
		{"502", http.StatusBadGateway, 1, 0, ErrorClass5xx},
		{"504", http.StatusGatewayTimeout, 2, 0, ErrorClass5xx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFakeWorkspace(t)
			fw.handle("GET /api/2.0/sql/warehouses", failFirst(tt.failures, tt.status, "", warehousesOK))
			c := fw.client()
			whs, err := c.ListWarehouses(context.Background())
			require.NoError(t, err)
			require.Len(t, whs, 1)
			assert.Equal(t, tt.failures+1, fw.count("GET /api/2.0/sql/warehouses"))
			var byClass [NumErrorClasses]int64
			byClass[tt.wantClass] = int64(tt.failures)
			assert.Equal(t, Stats{Requests: int64(tt.failures + 1), Errors: int64(tt.failures),
				Throttles: tt.wantThrottles, Retries: int64(tt.failures),
				ErrorsByClass: byClass, RetriesByClass: byClass}, c.Stats())
		})
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	tests := []struct {
		status int
		code   string
		class  ErrorClass
	}{
		{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", ErrorClass4xx},
		{http.StatusForbidden, "PERMISSION_DENIED", ErrorClass4xx},
		{http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", ErrorClass4xx},
		{http.StatusNotImplemented, "NOT_IMPLEMENTED", ErrorClass5xx},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			fw := newFakeWorkspace(t)
			fw.handle("GET /api/2.1/clusters/list", func(w http.ResponseWriter, _ *http.Request) {
				writeAPIError(w, tt.status, tt.code, "no way")
			})
			c := fw.client()
			_, err := c.ListClusters(context.Background())
			require.Error(t, err)
			assert.Equal(t, "GET /api/2.1/clusters/list: HTTP "+strconv.Itoa(tt.status)+" "+tt.code+": no way", err.Error())
			var errorsByClass [NumErrorClasses]int64
			errorsByClass[tt.class] = 1
			assert.Equal(t, Stats{Requests: 1, Errors: 1, ErrorsByClass: errorsByClass}, c.Stats(), "counted once, in its class, and not retried")
			var apiErr *apierr.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, 1, fw.count("GET /api/2.1/clusters/list"))
		})
	}
}

func TestMalformedJSONNamesTheEndpoint(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.1/clusters/list", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"clusters": [{"cluster_id": "c1", "state": "RUNN`))
	})
	c := fw.client()
	clusters, err := c.ListClusters(context.Background())
	require.Error(t, err)
	assert.Nil(t, clusters)
	assert.Contains(t, err.Error(), "GET /api/2.1/clusters/list: malformed JSON response (49 bytes): unexpected end of JSON input")
	assert.Equal(t, 1, fw.count("GET /api/2.1/clusters/list"), "a malformed body is not retried")
	assert.NotContains(t, err.Error(), testToken)
}

func TestFailingPageIsRetriedNotSkipped(t *testing.T) {
	fw := newFakeWorkspace(t)
	var items []map[string]any
	for i := range 4 {
		items = append(items, map[string]any{"job_id": i + 1})
	}
	var queries []map[string]string
	pages := tokenPages(t, "jobs", items, 2, &queries)
	secondPageFailures := 0
	fw.handle("GET /api/2.2/jobs/list", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page_token") != "" && secondPageFailures < 2 {
			secondPageFailures++
			writeAPIError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "boom")
			return
		}
		pages(w, r)
	})
	got, err := fw.client().ListJobs(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, []int64{1, 2, 3, 4}, []int64{got[0].JobId, got[1].JobId, got[2].JobId, got[3].JobId})
	assert.Equal(t, 4, fw.count("GET /api/2.2/jobs/list"))
}

func TestPersistentFailureReturnsNoPartialList(t *testing.T) {
	fw := newFakeWorkspace(t)
	var items []map[string]any
	for i := range 4 {
		items = append(items, map[string]any{"job_id": i + 1})
	}
	var queries []map[string]string
	pages := tokenPages(t, "jobs", items, 2, &queries)
	fw.handle("GET /api/2.2/jobs/list", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page_token") != "" {
			writeAPIError(w, http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", "down")
			return
		}
		pages(w, r)
	})
	c := fw.client(WithRetryPolicy(RetryPolicy{InitialInterval: 20 * time.Millisecond, MaxInterval: 20 * time.Millisecond, Multiplier: 1, MaxElapsedTime: 200 * time.Millisecond}))
	start := time.Now()
	got, err := c.ListJobs(context.Background())
	require.Error(t, err)
	assert.Nil(t, got)
	assert.True(t, IsThrottled(err))
	assert.Less(t, time.Since(start), 2*time.Second, "the retry budget bounds the call")
	// Backoff steps are 10-20 ms within a 200 ms budget: at most 21 attempts for page two
	// (fewer on a slow machine), and the SDK adds none of its own.
	pageTwo := fw.count("GET /api/2.2/jobs/list") - 1
	assert.GreaterOrEqual(t, pageTwo, 3)
	assert.LessOrEqual(t, pageTwo, 21)
	st := c.Stats()
	assert.Equal(t, int64(pageTwo+1), st.Requests)
	assert.Equal(t, int64(pageTwo-1), st.Retries)
	assert.Equal(t, int64(pageTwo), st.Throttles)
}

func TestRetryAfterBeyondBudgetGivesUpAtOnce(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.0/sql/warehouses", failFirst(1, http.StatusTooManyRequests, "3600", warehousesOK))
	start := time.Now()
	_, err := fw.client().ListWarehouses(context.Background())
	require.Error(t, err)
	assert.True(t, IsThrottled(err))
	assert.Contains(t, err.Error(), "GET /api/2.0/sql/warehouses: HTTP 429")
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, 1, fw.count("GET /api/2.0/sql/warehouses"))
}

func TestContextEndsRetryWait(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.0/sql/warehouses", failFirst(1, http.StatusTooManyRequests, "1", warehousesOK))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := fw.client().ListWarehouses(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Less(t, time.Since(start), 900*time.Millisecond)
	assert.Equal(t, 1, fw.count("GET /api/2.0/sql/warehouses"))
}

func TestDroppedConnectionIsRetried(t *testing.T) {
	fw := newFakeWorkspace(t)
	dropped := false
	fw.handle("GET /api/2.0/sql/warehouses", func(w http.ResponseWriter, r *http.Request) {
		if !dropped {
			dropped = true
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			// Headers promise more body than is sent: the body read fails mid-way.
			_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"warehouses\":["))
			_ = conn.Close()
			return
		}
		warehousesOK(w, r)
	})
	c := fw.client()
	whs, err := c.ListWarehouses(context.Background())
	require.NoError(t, err)
	require.Len(t, whs, 1)
	assert.Equal(t, 2, fw.count("GET /api/2.0/sql/warehouses"))
	st := c.Stats()
	assert.Equal(t, int64(1), st.Retries)
	assert.Equal(t, [NumErrorClasses]int64{ErrorClassNetwork: 1}, st.ErrorsByClass, "a body cut off is a network error")
	assert.Equal(t, [NumErrorClasses]int64{ErrorClassNetwork: 1}, st.RetriesByClass)
}

// dueContext has a deadline that has passed but, like a context whose timer has not fired
// yet, no error.
type dueContext struct{ context.Context }

func (dueContext) Deadline() (time.Time, bool) { return time.Now().Add(-time.Nanosecond), true }

func TestContextCauseUnwrapsToTheContextError(t *testing.T) {
	limiterErr := errors.New("failed in rate limiter: rate: Wait(n=1) would exceed context deadline")
	live := context.Background()
	assert.Same(t, limiterErr, contextCause(live, limiterErr), "a live context leaves the error as it is")

	due := contextCause(dueContext{live}, limiterErr)
	assert.ErrorIs(t, due, context.DeadlineExceeded)
	assert.ErrorIs(t, due, limiterErr)

	canceled, cancel := context.WithCancel(live)
	cancel()
	got := contextCause(canceled, limiterErr)
	assert.ErrorIs(t, got, context.Canceled)
	assert.Equal(t, "context canceled: "+limiterErr.Error(), got.Error())

	already := fmt.Errorf("wrapped: %w", context.DeadlineExceeded)
	assert.Same(t, already, contextCause(canceled, already), "an error that already says so is not wrapped twice")
}
