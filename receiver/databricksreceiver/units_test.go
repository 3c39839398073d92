// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/stretchr/testify/assert"
)

func TestAdvanceCursor(t *testing.T) {
	a := event("c", t0, compute.EventTypeRunning, nil)
	b := event("c", t0, compute.EventTypeResizing, nil) // same millisecond as a
	c := event("c", t0.Add(time.Second), compute.EventTypeNodesLost, nil)
	old := event("c", t0.Add(-time.Second), compute.EventTypeCreating, nil)
	tests := []struct {
		name       string
		cursor     clusterCursor
		events     []compute.ClusterEvent
		wantTypes  []compute.EventType
		wantCursor int64
		wantSeen   int
	}{
		{"all new", clusterCursor{CursorMillis: ms(t0.Add(-time.Hour))}, []compute.ClusterEvent{a, b, c}, []compute.EventType{"RUNNING", "RESIZING", "NODES_LOST"}, c.Timestamp, 1},
		{"older than cursor skipped", clusterCursor{CursorMillis: ms(t0)}, []compute.ClusterEvent{old, a}, []compute.EventType{"RUNNING"}, ms(t0), 1},
		{"same-millisecond sibling after restart", clusterCursor{CursorMillis: ms(t0), SeenAtCursor: []string{eventFingerprint(&a)}}, []compute.ClusterEvent{a, b}, []compute.EventType{"RESIZING"}, ms(t0), 2},
		{"nothing new", clusterCursor{CursorMillis: c.Timestamp, SeenAtCursor: []string{eventFingerprint(&c)}}, []compute.ClusterEvent{c}, nil, c.Timestamp, 1},
		{"empty", clusterCursor{CursorMillis: 5}, nil, nil, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := tt.cursor
			got := advanceCursor(&cur, tt.events)
			var types []compute.EventType
			for _, e := range got {
				types = append(types, e.Type)
			}
			assert.Equal(t, tt.wantTypes, types)
			assert.Equal(t, tt.wantCursor, cur.CursorMillis)
			assert.Len(t, cur.SeenAtCursor, tt.wantSeen)
			assert.Empty(t, advanceCursor(&cur, tt.events), "a second read of the same events yields nothing")
		})
	}
}

func TestIdentityDiff(t *testing.T) {
	users := []iam.User{{Id: "u1", UserName: "alice@corp.com"}, {Id: "u2", UserName: "bob@corp.com"}}
	sps := []iam.ServicePrincipal{{Id: "s1", ApplicationId: "app-1"}}
	group := func(id, name string, members ...string) iam.Group {
		g := iam.Group{Id: id, DisplayName: name}
		for _, m := range members {
			ref := "Users/" + m
			if m[0] == 'g' {
				ref = "Groups/" + m
			}
			g.Members = append(g.Members, iam.ComplexValue{Value: m, Ref: ref})
		}
		return g
	}
	base := []iam.Group{group("g1", "admins", "u1"), group("g2", "eng", "u2")}
	tests := []struct {
		name      string
		users     []iam.User
		groups    []iam.Group
		want      []string
		wantAdmin []string
	}{
		{"unchanged", users, base, nil, []string{"u1"}},
		{"admin granted directly", users, []iam.Group{group("g1", "admins", "u1", "u2"), group("g2", "eng", "u2")},
			[]string{"admin_granted:bob@corp.com:"}, []string{"u1", "u2"}},
		{"admin granted through a nested group", users, []iam.Group{group("g1", "admins", "u1", "g2"), group("g2", "eng", "u2")},
			[]string{"admin_granted:bob@corp.com:", "member_added:eng:admins"}, []string{"u1", "u2"}},
		{"admin revoked", users, []iam.Group{group("g1", "admins"), group("g2", "eng", "u2")},
			[]string{"admin_revoked:alice@corp.com:"}, []string{}},
		{"member added and removed", users, []iam.Group{group("g1", "admins", "u1"), group("g2", "eng", "u1")},
			[]string{"member_added:alice@corp.com:eng", "member_removed:bob@corp.com:eng"}, []string{"u1"}},
		{"user deleted", users[:1], []iam.Group{group("g1", "admins", "u1"), group("g2", "eng")},
			[]string{"member_removed:bob@corp.com:eng", "principal_deleted:bob@corp.com:"}, []string{"u1"}},
		{"group created with members", users, append(append([]iam.Group{}, base...), group("g3", "ops", "u1")),
			[]string{"member_added:alice@corp.com:ops", "principal_created:ops:"}, []string{"u1"}},
	}
	prev := buildIdentitySnapshot(users, base, sps, ms(t0))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := buildIdentitySnapshot(tt.users, tt.groups, sps, ms(t0.Add(time.Hour)))
			var got []string
			for _, c := range diffIdentity(&prev, &next) {
				got = append(got, c.Type+":"+c.PrincipalName+":"+c.GroupName)
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantAdmin, next.Admins)
		})
	}
}

func TestRunHelpers(t *testing.T) {
	tests := []struct {
		name     string
		run      jobs.BaseRun
		state    string
		result   string
		duration float64
	}{
		{"v2 status preferred", jobs.BaseRun{Status: &jobs.RunStatus{State: "QUEUED"}, State: &jobs.RunState{LifeCycleState: "PENDING"}}, "QUEUED", "UNKNOWN", 0},
		{"legacy state", jobs.BaseRun{State: &jobs.RunState{LifeCycleState: "TERMINATED", ResultState: "CANCELED"}, RunDuration: 1500}, "TERMINATED", "CANCELED", 1.5},
		{"termination code fallback and phases", jobs.BaseRun{Status: &jobs.RunStatus{State: "TERMINATED", TerminationDetails: &jobs.TerminationDetails{Code: "SUCCESS"}},
			SetupDuration: 1000, ExecutionDuration: 2000, CleanupDuration: 500}, "TERMINATED", "SUCCESS", 3.5},
		{"end minus start", jobs.BaseRun{StartTime: 1000, EndTime: 61000}, "UNKNOWN", "UNKNOWN", 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.state, runState(&tt.run))
			assert.Equal(t, tt.result, runResult(&tt.run))
			assert.InDelta(t, tt.duration, runDurationSeconds(&tt.run), 1e-9)
		})
	}
}

func TestDurationHistogramBuckets(t *testing.T) {
	h := newDurationHistogram()
	for _, v := range []float64{0.5, 1, 45, 86400, 100000} {
		h.observe(v)
	}
	assert.Equal(t, uint64(5), h.count)
	assert.InDelta(t, 186446.5, h.sum, 1e-9)
	assert.Equal(t, 0.5, h.min)
	assert.Equal(t, 100000.0, h.max)
	// Bounds are upper-inclusive: 1 falls in the first bucket, 86400 in the last bounded one.
	want := make([]uint64, len(runDurationBounds)+1)
	want[0], want[4], want[13], want[14] = 2, 1, 1, 1
	assert.Equal(t, want, h.buckets)
}

func TestClusterUptime(t *testing.T) {
	now := ms(t0)
	assert.Equal(t, int64(3600), clusterUptimeSeconds(&compute.ClusterDetails{State: compute.StateRunning, StartTime: now - 7_200_000, LastRestartedTime: now - 3_600_000}, now))
	assert.Equal(t, int64(0), clusterUptimeSeconds(&compute.ClusterDetails{State: compute.StatePending, StartTime: now - 7_200_000}, now))
	assert.Equal(t, int64(0), clusterUptimeSeconds(&compute.ClusterDetails{State: compute.StateRunning, StartTime: now + 1000}, now), "clock skew never yields negative uptime")
}

func TestWorkspaceIDFromAzureHost(t *testing.T) {
	f := newFakeWorkspace()
	s := &dbxScraper{api: noIDWorkspace{f}, endpoint: "https://adb-1234567890123456.7.azuredatabricks.net"}
	s.resolveWorkspace(t.Context())
	assert.Equal(t, "1234567890123456", s.workspaceID)
}

type noIDWorkspace struct{ *fakeWorkspace }

func (noIDWorkspace) WorkspaceID(context.Context) string { return "" }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
