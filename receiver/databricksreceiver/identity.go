// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/service/iam"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

const (
	adminsGroupName = "admins"

	principalUser             = "user"
	principalServicePrincipal = "service_principal"
	principalGroup            = "group"

	changePrincipalCreated = "principal_created"
	changePrincipalDeleted = "principal_deleted"
	changeMemberAdded      = "member_added"
	changeMemberRemoved    = "member_removed"
	changeAdminGranted     = "admin_granted"
	changeAdminRevoked     = "admin_revoked"
)

type identityChange struct {
	Type          string
	PrincipalID   string
	PrincipalKind string
	PrincipalName string
	GroupID       string // membership changes only
	GroupName     string
}

type identityResult struct {
	fresh    bool // a new snapshot was taken this scrape
	snapshot identityState
	changes  []identityChange
}

// fetchIdentity takes a snapshot when identity::interval has passed since the last one.
// API calls (only on those scrapes): one paged SCIM list each of users, groups, service principals.
func (s *dbxScraper) fetchIdentity(ctx context.Context, now time.Time) *identityResult {
	res := &identityResult{}
	if s.identity.TakenAt > 0 && now.Sub(time.UnixMilli(s.identity.TakenAt)) < s.cfg.Identity.Interval {
		return res
	}
	users, err := s.api.ListUsers(ctx)
	if err != nil {
		s.failures.failed(ctx, sourceIdentity, err)
		s.identityFailed = true
		return res
	}
	groups, err := s.api.ListGroups(ctx)
	if err != nil {
		s.failures.failed(ctx, sourceIdentity, err)
		s.identityFailed = true
		return res
	}
	sps, err := s.api.ListServicePrincipals(ctx)
	if err != nil {
		s.failures.failed(ctx, sourceIdentity, err)
		s.identityFailed = true
		return res
	}
	s.failures.succeeded(sourceIdentity)
	s.identityFailed = false
	res.fresh = true
	res.snapshot = buildIdentitySnapshot(users, groups, sps, now.UnixMilli())
	if s.identity.TakenAt > 0 {
		res.changes = diffIdentity(&s.identity, &res.snapshot)
	}
	return res
}

func buildIdentitySnapshot(users []iam.User, groups []iam.Group, sps []iam.ServicePrincipal, takenAt int64) identityState {
	snap := identityState{TakenAt: takenAt, Principals: map[string]principalEntry{}, Groups: map[string]groupEntry{}}
	for i := range users {
		snap.Principals[users[i].Id] = principalEntry{Kind: principalUser, Name: users[i].UserName, Listed: true}
	}
	for i := range sps {
		// The application id is what audit logs carry as the identity of a service principal.
		name := sps[i].ApplicationId
		if name == "" {
			name = sps[i].DisplayName
		}
		snap.Principals[sps[i].Id] = principalEntry{Kind: principalServicePrincipal, Name: name, Listed: true}
	}
	for i := range groups {
		g := &groups[i]
		snap.Principals[g.Id] = principalEntry{Kind: principalGroup, Name: g.DisplayName, Listed: true}
		members := make([]string, 0, len(g.Members))
		for _, m := range g.Members {
			if m.Value == "" {
				continue
			}
			members = append(members, m.Value)
			if _, known := snap.Principals[m.Value]; !known {
				// Members defined outside the workspace lists (e.g. account groups) keep the
				// kind and name the membership itself reports.
				snap.Principals[m.Value] = principalEntry{Kind: memberKind(m), Name: m.Display}
			}
		}
		sort.Strings(members)
		snap.Groups[g.Id] = groupEntry{Name: g.DisplayName, Members: members}
	}
	snap.Admins = resolveAdmins(&snap)
	return snap
}

func memberKind(m iam.ComplexValue) string {
	switch {
	case strings.HasPrefix(m.Ref, "Groups/"):
		return principalGroup
	case strings.HasPrefix(m.Ref, "ServicePrincipals/"):
		return principalServicePrincipal
	default:
		return principalUser
	}
}

// resolveAdmins returns the users and service principals that are members of the admins group,
// directly or through nested groups.
func resolveAdmins(snap *identityState) []string {
	var queue []string
	for id, g := range snap.Groups {
		if g.Name == adminsGroupName {
			queue = append(queue, id)
		}
	}
	visited := map[string]bool{}
	admins := map[string]bool{}
	for len(queue) > 0 {
		gid := queue[0]
		queue = queue[1:]
		if visited[gid] {
			continue
		}
		visited[gid] = true
		for _, m := range snap.Groups[gid].Members {
			if snap.Principals[m].Kind == principalGroup {
				queue = append(queue, m)
			} else {
				admins[m] = true
			}
		}
	}
	return sortedKeys(admins)
}

func diffIdentity(prev, next *identityState) []identityChange {
	var changes []identityChange
	principal := func(typ, id string, p principalEntry) identityChange {
		return identityChange{Type: typ, PrincipalID: id, PrincipalKind: p.Kind, PrincipalName: p.Name}
	}
	for id, p := range next.Principals {
		if old, ok := prev.Principals[id]; p.Listed && (!ok || !old.Listed) {
			changes = append(changes, principal(changePrincipalCreated, id, p))
		}
	}
	for id, p := range prev.Principals {
		if cur, ok := next.Principals[id]; p.Listed && (!ok || !cur.Listed) {
			changes = append(changes, principal(changePrincipalDeleted, id, p))
		}
	}
	lookup := func(id string) principalEntry {
		if p, ok := next.Principals[id]; ok {
			return p
		}
		return prev.Principals[id]
	}
	membership := func(typ, gid string, g groupEntry, from, to []string) {
		have := map[string]bool{}
		for _, m := range to {
			have[m] = true
		}
		for _, m := range from {
			if have[m] {
				continue
			}
			p := lookup(m)
			// Users and service principals entering or leaving admins are reported as
			// admin_granted/admin_revoked (below), not twice.
			if g.Name == adminsGroupName && p.Kind != principalGroup {
				continue
			}
			c := principal(typ, m, p)
			c.GroupID, c.GroupName = gid, g.Name
			changes = append(changes, c)
		}
	}
	for gid, g := range next.Groups {
		old, existed := prev.Groups[gid]
		if !existed {
			old = groupEntry{}
		}
		membership(changeMemberAdded, gid, g, g.Members, old.Members)
		if existed {
			membership(changeMemberRemoved, gid, g, old.Members, g.Members)
		}
	}
	wasAdmin := toSet(prev.Admins)
	isAdmin := toSet(next.Admins)
	for _, id := range next.Admins {
		if !wasAdmin[id] {
			changes = append(changes, principal(changeAdminGranted, id, lookup(id)))
		}
	}
	for _, id := range prev.Admins {
		if !isAdmin[id] {
			changes = append(changes, principal(changeAdminRevoked, id, lookup(id)))
		}
	}
	sort.Slice(changes, func(i, j int) bool {
		a, b := changes[i], changes[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.GroupName != b.GroupName {
			return a.GroupName < b.GroupName
		}
		return a.PrincipalID < b.PrincipalID
	})
	return changes
}

func (s *dbxScraper) commitIdentity(res *identityResult) {
	if !res.fresh {
		return
	}
	s.identity = res.snapshot
	s.dirty[stateKeyIdentity] = true
}

// recordIdentity reports principal counts from the latest snapshot, also on scrapes between
// snapshots; nothing while the latest attempt to take a snapshot failed.
func (s *dbxScraper) recordIdentity(now pcommon.Timestamp) {
	if s.identityFailed || s.identity.TakenAt == 0 {
		return
	}
	counts := map[string]int64{}
	for _, p := range s.identity.Principals {
		if p.Listed {
			counts[p.Kind]++
		}
	}
	s.mb.RecordDatabricksIdentityPrincipalsDataPoint(now, counts[principalUser], metadata.AttributePrincipalKindUser)
	s.mb.RecordDatabricksIdentityPrincipalsDataPoint(now, counts[principalGroup], metadata.AttributePrincipalKindGroup)
	s.mb.RecordDatabricksIdentityPrincipalsDataPoint(now, counts[principalServicePrincipal], metadata.AttributePrincipalKindServicePrincipal)
	s.mb.RecordDatabricksIdentityPrincipalsDataPoint(now, int64(len(s.identity.Admins)), metadata.AttributePrincipalKindAdmin)
	s.mb.EmitForResource(metadata.WithResource(s.resourceBuilder().Emit()))
}

func toSet(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}
