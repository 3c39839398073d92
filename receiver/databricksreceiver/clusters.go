// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// terminalPollsAfterChange is how many event reads a terminal cluster gets after its state
// fields last changed (see clusterCursor.StablePolls). A cluster that terminated more than
// terminalGrace ago has published all its events, so one read is enough.
const (
	terminalPollsAfterChange = 2
	terminalGrace            = 10 * time.Minute
)

// clusterStates lists every state in a fixed order so that output is deterministic.
var clusterStates = []struct {
	state compute.State
	attr  metadata.AttributeDatabricksClusterState
}{
	{compute.StatePending, metadata.AttributeDatabricksClusterStatePENDING},
	{compute.StateRunning, metadata.AttributeDatabricksClusterStateRUNNING},
	{compute.StateRestarting, metadata.AttributeDatabricksClusterStateRESTARTING},
	{compute.StateResizing, metadata.AttributeDatabricksClusterStateRESIZING},
	{compute.StateTerminating, metadata.AttributeDatabricksClusterStateTERMINATING},
	{compute.StateTerminated, metadata.AttributeDatabricksClusterStateTERMINATED},
	{compute.StateError, metadata.AttributeDatabricksClusterStateERROR},
	{compute.StateUnknown, metadata.AttributeDatabricksClusterStateUNKNOWN},
}

// clustersResult is what one scrape learned about clusters, applied after log delivery.
type clustersResult struct {
	ok       bool
	clusters []compute.ClusterDetails
	// newEvents by cluster id, oldest first, already de-duplicated against the cursors.
	newEvents map[string][]compute.ClusterEvent
	// cursors to store for clusters whose events were read successfully.
	cursors map[string]*clusterCursor
}

func isTerminal(s compute.State) bool {
	return s == compute.StateTerminated || s == compute.StateError
}

// clusterFingerprint changes whenever something that produces cluster events changes.
func clusterFingerprint(c *compute.ClusterDetails) string {
	minW, maxW := 0, 0
	if c.Autoscale != nil {
		minW, maxW = c.Autoscale.MinWorkers, c.Autoscale.MaxWorkers
	}
	return fmt.Sprintf("%s/%d/%d/%d/%d/%d/%d/%d/%d", c.State, c.StartTime, c.TerminatedTime, c.LastRestartedTime,
		c.LastStateLossTime, c.NumWorkers, len(c.Executors), minW, maxW)
}

func eventFingerprint(e *compute.ClusterEvent) string {
	h := fnv.New64a()
	raw, _ := json.Marshal(e) // marshalling an SDK struct of plain fields cannot fail
	_, _ = h.Write(raw)
	return strconv.FormatUint(h.Sum64(), 16)
}

// fetchClusters lists clusters and reads the events of those that changed or are not terminal.
// API calls: one paged list, plus one paged events call per polled cluster.
func (s *dbxScraper) fetchClusters(ctx context.Context, now time.Time) *clustersResult {
	res := &clustersResult{newEvents: map[string][]compute.ClusterEvent{}, cursors: map[string]*clusterCursor{}}
	clusters, err := s.api.ListClusters(ctx)
	if err != nil {
		s.failures.failed(ctx, sourceClusters, err)
		return res
	}
	s.failures.succeeded(sourceClusters)
	res.ok, res.clusters = true, clusters
	if !s.cfg.Clusters.Events {
		return res
	}
	eventsFailed := false
	for i := range clusters {
		c := &clusters[i]
		prev := s.clusters.Clusters[c.ClusterId]
		fp := clusterFingerprint(c)
		changed := prev == nil || prev.Fingerprint != fp
		if !changed && isTerminal(c.State) && prev.StablePolls >= terminalPollsAfterChange {
			continue
		}
		next := &clusterCursor{Fingerprint: fp, CursorMillis: s.clusters.InitializedAt}
		if prev != nil {
			next.CursorMillis = prev.CursorMillis
			next.SeenAtCursor = prev.SeenAtCursor
			if !changed {
				next.StablePolls = prev.StablePolls
			}
		}
		events, err := s.api.ClusterEvents(ctx, c.ClusterId, next.CursorMillis)
		if err != nil {
			eventsFailed = true
			s.failures.failed(ctx, sourceClusterEvents, fmt.Errorf("cluster %s: %w", c.ClusterId, err))
			continue
		}
		next.StablePolls++
		if isTerminal(c.State) && c.TerminatedTime > 0 && now.UnixMilli()-c.TerminatedTime > terminalGrace.Milliseconds() {
			next.StablePolls = terminalPollsAfterChange
		}
		res.newEvents[c.ClusterId] = advanceCursor(next, events)
		res.cursors[c.ClusterId] = next
	}
	if !eventsFailed {
		s.failures.succeeded(sourceClusterEvents)
	}
	return res
}

// advanceCursor returns the events not yet emitted and moves the cursor past them.
func advanceCursor(cur *clusterCursor, events []compute.ClusterEvent) []compute.ClusterEvent {
	seen := make(map[string]bool, len(cur.SeenAtCursor))
	for _, fp := range cur.SeenAtCursor {
		seen[fp] = true
	}
	var fresh []compute.ClusterEvent
	for i := range events {
		e := &events[i]
		if e.Timestamp < cur.CursorMillis {
			continue
		}
		fp := eventFingerprint(e)
		if e.Timestamp == cur.CursorMillis && seen[fp] {
			continue
		}
		fresh = append(fresh, *e)
		if e.Timestamp > cur.CursorMillis {
			cur.CursorMillis = e.Timestamp
			seen = map[string]bool{}
		}
		seen[fp] = true
	}
	cur.SeenAtCursor = cur.SeenAtCursor[:0:0]
	for fp := range seen {
		cur.SeenAtCursor = append(cur.SeenAtCursor, fp)
	}
	sortStrings(cur.SeenAtCursor)
	return fresh
}

// commitClusters stores the cursors and counts the delivered events.
func (s *dbxScraper) commitClusters(res *clustersResult) {
	if !res.ok {
		return
	}
	listed := make(map[string]bool, len(res.clusters))
	for i := range res.clusters {
		listed[res.clusters[i].ClusterId] = true
	}
	for id, cur := range res.cursors {
		s.clusters.Clusters[id] = cur
	}
	// The list API forgets clusters 30 days after termination; so do we.
	for id := range s.clusters.Clusters {
		if !listed[id] {
			delete(s.clusters.Clusters, id)
			delete(s.clusterEventCounts, id)
		}
	}
	for id, events := range res.newEvents {
		counts := s.clusterEventCounts[id]
		if counts == nil {
			counts = map[string]int64{}
			s.clusterEventCounts[id] = counts
		}
		for i := range events {
			counts[string(events[i].Type)]++
		}
	}
	s.dirty[stateKeyClusters] = true
}

// recordClusters emits the per-cluster metrics; nothing at all when the list failed.
func (s *dbxScraper) recordClusters(res *clustersResult, now pcommon.Timestamp) {
	if !res.ok {
		return
	}
	nowMs := now.AsTime().UnixMilli()
	for i := range res.clusters {
		c := &res.clusters[i]
		for _, st := range clusterStates {
			v := int64(0)
			if c.State == st.state {
				v = 1
			}
			s.mb.RecordDatabricksClusterStateDataPoint(now, v, st.attr)
		}
		s.mb.RecordDatabricksClusterWorkersDataPoint(now, int64(len(c.Executors)), metadata.AttributeWorkersKindCurrent)
		s.mb.RecordDatabricksClusterWorkersDataPoint(now, int64(c.NumWorkers), metadata.AttributeWorkersKindTarget)
		if c.Autoscale != nil {
			s.mb.RecordDatabricksClusterWorkersDataPoint(now, int64(c.Autoscale.MinWorkers), metadata.AttributeWorkersKindAutoscaleMin)
			s.mb.RecordDatabricksClusterWorkersDataPoint(now, int64(c.Autoscale.MaxWorkers), metadata.AttributeWorkersKindAutoscaleMax)
		}
		s.mb.RecordDatabricksClusterUptimeDataPoint(now, clusterUptimeSeconds(c, nowMs))
		s.mb.RecordDatabricksClusterCoresDataPoint(now, c.ClusterCores)
		s.mb.RecordDatabricksClusterMemoryDataPoint(now, c.ClusterMemoryMb*1024*1024)
		for _, typ := range sortedKeys(s.clusterEventCounts[c.ClusterId]) {
			s.mb.RecordDatabricksClusterEventsDataPoint(now, s.clusterEventCounts[c.ClusterId][typ], typ)
		}
		rb := s.resourceBuilder()
		rb.SetDatabricksClusterID(c.ClusterId)
		rb.SetDatabricksClusterName(c.ClusterName)
		s.mb.EmitForResource(metadata.WithResource(rb.Emit()))
	}
}

// clusterUptimeSeconds is the time since the cluster last became usable, 0 when it is not up.
func clusterUptimeSeconds(c *compute.ClusterDetails, nowMs int64) int64 {
	switch c.State {
	case compute.StateRunning, compute.StateResizing:
	default:
		return 0
	}
	since := max(c.StartTime, c.LastRestartedTime)
	if since <= 0 || since > nowMs {
		return 0
	}
	return (nowMs - since) / 1000
}
