// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/sql"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
)

// Page sizes of internal/databricks, so that the fake reports the HTTP requests a real client
// would make for the same data.
const (
	fakeClustersPage = 100
	fakeEventsPage   = 500
	fakeJobsPage     = 100
	fakeRunsPage     = 25
	fakeSCIMPage     = 1000
)

// fakeWorkspace implements workspaceAPI over in-memory data with the API's filter semantics
// (runs newest first, start_time_from/to inclusive, events oldest first from a start time) and
// per-method fault injection.
type fakeWorkspace struct {
	mu          sync.Mutex
	clusters    []compute.ClusterDetails
	events      map[string][]compute.ClusterEvent
	jobs        []jobs.BaseJob
	runs        []jobs.BaseRun
	warehouses  []sql.EndpointInfo
	users       []iam.User
	groups      []iam.Group
	sps         []iam.ServicePrincipal
	nodeRows    []nodeTimelineRow
	nodeBad     []rowError
	billingRows []billingUsageRow

	faults   map[string]error // method name -> error returned instead of data
	requests int64
	calls    map[string]int
	queries  []tableQuery
	runsQs   []runsQuery
}

func newFakeWorkspace() *fakeWorkspace {
	return &fakeWorkspace{events: map[string][]compute.ClusterEvent{}, faults: map[string]error{}, calls: map[string]int{}}
}

func pages(n, size int) int64 {
	if n == 0 {
		return 1
	}
	return int64((n + size - 1) / size)
}

func (f *fakeWorkspace) enter(method string, n, pageSize int) error {
	f.calls[method]++
	if err := f.faults[method]; err != nil {
		f.requests++
		return err
	}
	f.requests += pages(n, pageSize)
	return nil
}

func (f *fakeWorkspace) ListClusters(context.Context) ([]compute.ClusterDetails, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListClusters", len(f.clusters), fakeClustersPage); err != nil {
		return nil, err
	}
	return append([]compute.ClusterDetails(nil), f.clusters...), nil
}

func (f *fakeWorkspace) ClusterEvents(_ context.Context, id string, start int64) ([]compute.ClusterEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compute.ClusterEvent
	for _, e := range f.events[id] {
		if e.Timestamp >= start {
			out = append(out, e)
		}
	}
	if err := f.enter("ClusterEvents", len(out), fakeEventsPage); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *fakeWorkspace) ListJobs(context.Context) ([]jobs.BaseJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListJobs", len(f.jobs), fakeJobsPage); err != nil {
		return nil, err
	}
	return append([]jobs.BaseJob(nil), f.jobs...), nil
}

func (f *fakeWorkspace) ListRuns(_ context.Context, q runsQuery) ([]jobs.BaseRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runsQs = append(f.runsQs, q)
	var out []jobs.BaseRun
	for _, r := range f.runs {
		finished := r.EndTime > 0
		switch {
		case q.ActiveOnly && finished, q.CompletedOnly && !finished:
			continue
		case q.JobID != 0 && r.JobId != q.JobID:
			continue
		case q.StartTimeFrom != 0 && r.StartTime < q.StartTimeFrom:
			continue
		case q.StartTimeTo != 0 && r.StartTime > q.StartTimeTo:
			continue
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime > out[j].StartTime })
	if err := f.enter("ListRuns", len(out), fakeRunsPage); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *fakeWorkspace) ListWarehouses(context.Context) ([]sql.EndpointInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListWarehouses", 0, 1); err != nil {
		return nil, err
	}
	return append([]sql.EndpointInfo(nil), f.warehouses...), nil
}

func (f *fakeWorkspace) ListUsers(context.Context) ([]iam.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListUsers", len(f.users), fakeSCIMPage); err != nil {
		return nil, err
	}
	return append([]iam.User(nil), f.users...), nil
}

func (f *fakeWorkspace) ListGroups(context.Context) ([]iam.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListGroups", len(f.groups), fakeSCIMPage); err != nil {
		return nil, err
	}
	return append([]iam.Group(nil), f.groups...), nil
}

func (f *fakeWorkspace) ListServicePrincipals(context.Context) ([]iam.ServicePrincipal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListServicePrincipals", len(f.sps), fakeSCIMPage); err != nil {
		return nil, err
	}
	return append([]iam.ServicePrincipal(nil), f.sps...), nil
}

func (f *fakeWorkspace) QueryNodeTimeline(_ context.Context, q tableQuery, fn func([]nodeTimelineRow, []rowError) error) error {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	if err := f.enter("QueryNodeTimeline", 1, 1); err != nil {
		f.mu.Unlock()
		return err
	}
	var rows []nodeTimelineRow
	for _, r := range f.nodeRows {
		if !r.StartTime.Before(q.From) && r.StartTime.Before(q.To) {
			rows = append(rows, r)
		}
	}
	bad := f.nodeBad
	f.mu.Unlock()
	return fn(rows, bad)
}

func (f *fakeWorkspace) QueryBillingUsage(_ context.Context, q tableQuery, fn func([]billingUsageRow, []rowError) error) error {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	if err := f.enter("QueryBillingUsage", 1, 1); err != nil {
		f.mu.Unlock()
		return err
	}
	var rows []billingUsageRow
	for _, r := range f.billingRows {
		if !r.UsageStartTime.Before(q.From) && r.UsageStartTime.Before(q.To) {
			rows = append(rows, r)
		}
	}
	f.mu.Unlock()
	return fn(rows, nil)
}

func (f *fakeWorkspace) Stats() databricks.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return databricks.Stats{Requests: f.requests}
}

func (*fakeWorkspace) WorkspaceID(context.Context) string { return "1234567890" }

func (*fakeWorkspace) Host() string { return "https://dbc-test.cloud.databricks.com" }

func (f *fakeWorkspace) setFault(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.faults, method)
		return
	}
	f.faults[method] = err
}

// memStorage is an in-memory storage.Client that survives "restarts" of the receiver.
type memStorage struct {
	mu   sync.Mutex
	data map[string][]byte
}

func newMemStorage() *memStorage { return &memStorage{data: map[string][]byte{}} }

func (m *memStorage) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data[key]...), nil
}

func (m *memStorage) Set(_ context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = append([]byte(nil), value...)
	return nil
}

func (m *memStorage) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, key)
	return nil
}

func (m *memStorage) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value, _ = m.Get(ctx, op.Key)
		case storage.Set:
			_ = m.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			_ = m.Delete(ctx, op.Key)
		}
	}
	return nil
}

func (*memStorage) Close(context.Context) error { return nil }

// ms converts a test time to epoch milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }
