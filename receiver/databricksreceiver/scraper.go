// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// dbxScraper runs one collection cycle per tick of the scraper controller. A cycle first reads
// every source, then delivers the resulting logs, and only if the logs consumer accepted them
// advances the cursors (cluster events, job runs, identity snapshot) and the cumulative counters
// derived from them. Metrics are recorded last, so a source that failed contributes nothing.
type dbxScraper struct {
	cfg         *Config
	logger      *zap.Logger
	api         workspaceAPI
	store       stateStore
	logs        consumer.Logs // nil when the receiver is not in a logs pipeline
	obsLogs     *receiverhelper.ObsReport
	mb          *metadata.MetricsBuilder
	telemetry   *metadata.TelemetryBuilder
	failures    *failureTracker
	now         func() time.Time
	startTime   pcommon.Timestamp
	version     string
	runCtx      context.Context // canceled on shutdown: aborts an in-flight scrape
	workspaceID string
	endpoint    string

	clusters         clustersState
	jobs             jobsState
	identity         identityState
	identityFailed   bool
	nodeTimeline     tableState
	billing          tableState
	lastSystemTables time.Time

	// Cumulative since start, in memory (a restart resets them with a new start time).
	clusterEventCounts map[string]map[string]int64
	jobRunStats        map[int64]*jobRunStats
	jobNames           map[int64]string
	prevActive         map[int64]map[string]int64

	histograms []pendingHistogram
	dirty      map[string]bool
	// tableReads are the system-table rows in the metrics of the scrape in flight; they join
	// the tables' state when the metrics pipeline accepts those metrics (metricsDelivered).
	tableReads []*tableRead
}

type scraperParams struct {
	cfg       *Config
	settings  receiver.Settings
	api       workspaceAPI
	storage   storage.Client
	logs      consumer.Logs
	obsLogs   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time
	runCtx    context.Context
}

func newDBXScraper(p scraperParams) *dbxScraper {
	now := p.now
	if now == nil {
		now = time.Now
	}
	start := pcommon.NewTimestampFromTime(now())
	mbc := metadata.MetricsBuilderConfig{Metrics: p.cfg.Metrics.MetricsConfig, ResourceAttributes: p.cfg.ResourceAttributes}
	return &dbxScraper{
		cfg:                p.cfg,
		logger:             p.settings.Logger,
		api:                p.api,
		store:              stateStore{client: p.storage},
		logs:               p.logs,
		obsLogs:            p.obsLogs,
		mb:                 metadata.NewMetricsBuilder(mbc, p.settings, metadata.WithStartTime(start)),
		telemetry:          p.telemetry,
		failures:           newFailureTracker(p.settings.Logger, p.telemetry),
		now:                now,
		startTime:          start,
		version:            p.settings.BuildInfo.Version,
		runCtx:             p.runCtx,
		endpoint:           p.cfg.Connection.Endpoint,
		clusterEventCounts: map[string]map[string]int64{},
		jobRunStats:        map[int64]*jobRunStats{},
		jobNames:           map[int64]string{},
		prevActive:         map[int64]map[string]int64{},
		dirty:              map[string]bool{},
	}
}

// loadState restores the persisted cursors. A record that cannot be read is an error: starting
// from scratch instead would silently re-emit or skip events.
func (s *dbxScraper) loadState(ctx context.Context) error {
	nowMs := s.now().UnixMilli()
	var errs []error
	load := func(key string, v any) {
		if _, err := s.store.load(ctx, key, v); err != nil {
			errs = append(errs, err)
		}
	}
	load(stateKeyClusters, &s.clusters)
	load(stateKeyJobs, &s.jobs)
	load(stateKeyIdentity, &s.identity)
	load(stateKeyNodeTimeline, &s.nodeTimeline)
	load(stateKeyBilling, &s.billing)
	if s.clusters.InitializedAt == 0 {
		s.clusters.InitializedAt = nowMs
	}
	if s.clusters.Clusters == nil {
		s.clusters.Clusters = map[string]*clusterCursor{}
	}
	if s.jobs.InitializedAt == 0 {
		s.jobs.InitializedAt = nowMs
	}
	if s.jobs.Active == nil {
		s.jobs.Active = map[int64]trackedRun{}
	}
	if s.jobs.Emitted == nil {
		s.jobs.Emitted = map[int64]int64{}
	}
	if s.nodeTimeline.Seen == nil {
		s.nodeTimeline.Seen = map[uint64]int64{}
	}
	if s.billing.Seen == nil {
		s.billing.Seen = map[uint64]int64{}
	}
	return errors.Join(errs...)
}

func (s *dbxScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	// The controller's context outlives Shutdown; tie the cycle to the receiver's lifetime so
	// that Shutdown does not wait for a slow statement or a long retry.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.runCtx, cancel)()

	now := s.now()
	ts := pcommon.NewTimestampFromTime(now)
	requestsBefore := s.api.Stats().Requests
	s.resolveWorkspace(ctx)
	s.histograms = s.histograms[:0]
	// Reads of a scrape whose metrics never reached the pipeline are read again.
	s.tableReads = s.tableReads[:0]

	var clusters *clustersResult
	var jobsRes *jobsResult
	var identityRes *identityResult
	if s.cfg.Clusters.Enabled {
		clusters = s.fetchClusters(ctx, now)
	}
	if s.cfg.Jobs.Enabled {
		jobsRes = s.fetchJobs(ctx, now)
	}
	if s.cfg.Identity.Enabled {
		identityRes = s.fetchIdentity(ctx, now)
	}

	if s.deliverLogs(ctx, s.buildLogs(now, clusters, jobsRes, identityRes)) {
		if clusters != nil {
			s.commitClusters(clusters)
		}
		if jobsRes != nil {
			s.commitJobs(jobsRes)
		}
		if identityRes != nil {
			s.commitIdentity(identityRes)
		}
	}

	if clusters != nil {
		s.recordClusters(clusters, ts)
	}
	if jobsRes != nil {
		s.recordJobs(jobsRes, ts)
	}
	if s.cfg.Identity.Enabled {
		s.recordIdentity(ts)
	}
	if s.cfg.Warehouses.Enabled {
		s.scrapeWarehouses(ctx, ts)
	}
	if st := s.cfg.SystemTables; st.enabled() && (s.lastSystemTables.IsZero() || now.Sub(s.lastSystemTables) >= st.Interval) {
		s.lastSystemTables = now
		if st.NodeTimeline {
			s.scrapeNodeTimeline(ctx, now)
		}
		if st.Billing {
			s.scrapeBilling(ctx, now)
		}
	}
	s.persist(ctx)

	s.telemetry.DatabricksAPIRequestsPerScrape.Record(ctx, s.api.Stats().Requests-requestsBefore)
	md := s.mb.Emit()
	appendHistograms(md, s.histograms, s.startTime, ts, s.version)
	return md, nil
}

func (s *dbxScraper) buildLogs(now time.Time, clusters *clustersResult, jobsRes *jobsResult, identityRes *identityResult) plog.Logs {
	lb := newLogsBuilder(now, s.version)
	if clusters != nil {
		for i := range clusters.clusters {
			c := &clusters.clusters[i]
			events := clusters.newEvents[c.ClusterId]
			if len(events) == 0 {
				continue
			}
			rb := s.resourceBuilder()
			rb.SetDatabricksClusterID(c.ClusterId)
			rb.SetDatabricksClusterName(c.ClusterName)
			res := rb.Emit()
			for j := range events {
				lb.appendClusterEvent(res, c, &events[j])
			}
		}
	}
	if jobsRes != nil {
		for i := range jobsRes.finished {
			r := &jobsRes.finished[i]
			rb := s.resourceBuilder()
			rb.SetDatabricksJobID(strconv.FormatInt(r.JobId, 10))
			name, ok := s.jobNames[r.JobId]
			if ok {
				rb.SetDatabricksJobName(name)
			}
			lb.appendJobRun(rb.Emit(), name, r)
		}
	}
	if identityRes != nil && len(identityRes.changes) > 0 {
		res := s.resourceBuilder().Emit()
		at := time.UnixMilli(identityRes.snapshot.TakenAt)
		for _, c := range identityRes.changes {
			lb.appendIdentityChange(res, at, c)
		}
	}
	return lb.logs
}

// deliverLogs hands the cycle's logs to the logs pipeline and reports whether the cursors may
// advance. Without a logs pipeline there is nothing to lose, so they always may.
func (s *dbxScraper) deliverLogs(ctx context.Context, ld plog.Logs) bool {
	n := ld.LogRecordCount()
	if s.logs == nil || n == 0 {
		return true
	}
	obsCtx := s.obsLogs.StartLogsOp(ctx)
	err := s.logs.ConsumeLogs(obsCtx, ld)
	s.obsLogs.EndLogsOp(obsCtx, metadata.Type.String(), n, err)
	if err != nil {
		s.failures.failed(ctx, sourceLogsConsumer, err)
		return false
	}
	s.failures.succeeded(sourceLogsConsumer)
	return true
}

// metricsDelivered is told what the metrics pipeline answered for the metrics of the last
// scrape. System-table rows are reported once, as delta points with their own timestamps (DBUs,
// node utilisation), so their watermarks advance only when the pipeline accepted them; on a
// refusal (a memory_limiter, a full sending queue) the next query reads them again. The other
// metrics are cumulative or gauges of the moment and lose nothing by a refused batch.
func (s *dbxScraper) metricsDelivered(ctx context.Context, err error) {
	reads := s.tableReads
	s.tableReads = s.tableReads[:0]
	if err != nil {
		if len(reads) > 0 {
			s.failures.failed(ctx, sourceMetricsConsumer, err)
		}
		return
	}
	s.failures.succeeded(sourceMetricsConsumer)
	if len(reads) == 0 {
		return
	}
	for _, r := range reads {
		r.commit()
		s.dirty[r.key] = true
	}
	s.persist(ctx)
}

func (s *dbxScraper) persist(ctx context.Context) {
	values := map[string]any{
		stateKeyClusters:     &s.clusters,
		stateKeyJobs:         &s.jobs,
		stateKeyIdentity:     &s.identity,
		stateKeyNodeTimeline: &s.nodeTimeline,
		stateKeyBilling:      &s.billing,
	}
	failed := false
	for _, key := range sortedKeys(s.dirty) {
		if err := s.store.save(ctx, key, values[key]); err != nil {
			failed = true
			s.failures.failed(ctx, sourceStorage, err)
			continue
		}
		delete(s.dirty, key)
	}
	if !failed {
		s.failures.succeeded(sourceStorage)
	}
}

func (s *dbxScraper) resourceBuilder() *metadata.ResourceBuilder {
	rb := s.mb.NewResourceBuilder()
	if s.workspaceID != "" {
		rb.SetDatabricksWorkspaceID(s.workspaceID)
	}
	if s.endpoint != "" {
		rb.SetDatabricksWorkspaceURL(s.endpoint)
	}
	return rb
}

var azureWorkspaceHost = regexp.MustCompile(`^adb-(\d+)\.\d+\.azuredatabricks\.net$`)

// resolveWorkspace fills in the workspace URL and id: the id from the client when it knows it,
// else from an Azure host name (adb-<id>.<n>.azuredatabricks.net).
func (s *dbxScraper) resolveWorkspace(ctx context.Context) {
	if s.endpoint == "" {
		s.endpoint = s.api.Host()
	}
	if s.workspaceID != "" {
		return
	}
	if id := s.api.WorkspaceID(ctx); id != "" {
		s.workspaceID = id
		return
	}
	if u, err := url.Parse(s.endpoint); err == nil {
		if m := azureWorkspaceHost.FindStringSubmatch(u.Hostname()); m != nil {
			s.workspaceID = m[1]
		}
	}
}
