package simulator

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/iam"
)

// memberships returns group -> member emails at instant now: the generated membership changed
// by the group changes the audit log shows up to now (so an injected admin grant is visible in
// the SCIM snapshot as well).
func (s *Server) memberships(now time.Time) map[string][]string {
	out := map[string][]string{}
	for g, ms := range s.world.Population.Groups {
		out[g] = append([]string(nil), ms...)
	}
	for _, e := range s.groupChanges {
		if e.Time.After(now) {
			break
		}
		g, user := e.RequestParams["targetGroupName"], e.RequestParams["targetUserName"]
		switch e.ActionName {
		case "addPrincipalToGroup":
			if !contains(out[g], user) {
				out[g] = append(out[g], user)
			}
		case "removePrincipalFromGroup":
			kept := out[g][:0]
			for _, m := range out[g] {
				if m != user {
					kept = append(kept, m)
				}
			}
			out[g] = kept
		}
	}
	for g := range out {
		sort.Strings(out[g])
	}
	return out
}

// groupChangeEvents are the injected membership changes, in time order.
func groupChangeEvents(w *World) []*AuditEvent {
	var out []*AuditEvent
	for i := range w.Events {
		e := &w.Events[i]
		if e.Attack != "" && e.RequestParams["targetGroupName"] != "" && e.RequestParams["targetUserName"] != "" &&
			(e.ActionName == "addPrincipalToGroup" || e.ActionName == "removePrincipalFromGroup") {
			out = append(out, e)
		}
	}
	return out
}

func groupID(name string) string { return stableDigits(16, "group", name) }

// scimMe answers for the caller. Like the real service it names the workspace in the
// X-Databricks-Org-Id header: that header is how a client learns the numeric workspace id on
// clouds whose host names do not carry it.
func (s *Server) scimMe(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Databricks-Org-Id", s.world.Scenario.Workspace.ID)
	writeJSON(w, http.StatusOK, iam.User{Id: groupID("otelcol-databricks-caller"), UserName: "otelcol-databricks@simulator.invalid",
		DisplayName: "otelcol-databricks", Active: true, ForceSendFields: []string{"Active"},
		Schemas: []iam.UserSchema{iam.UserSchemaUrnIetfParamsScimSchemasCore20User}})
}

func (s *Server) scimUsers(w http.ResponseWriter, r *http.Request) {
	groups := s.memberships(s.Now())
	names := sortedKeys(groups)
	var all []iam.User
	for _, u := range s.world.Population.Users {
		user := iam.User{Id: u.ID, UserName: u.Email, DisplayName: u.DisplayName, Active: true,
			Emails:          []iam.ComplexValue{{Value: u.Email, Type: "work", Primary: true}},
			Schemas:         []iam.UserSchema{iam.UserSchemaUrnIetfParamsScimSchemasCore20User, iam.UserSchemaUrnIetfParamsScimSchemasExtensionWorkspace20User},
			Name:            &iam.Name{GivenName: u.DisplayName},
			ForceSendFields: []string{"Active"}}
		for _, g := range names {
			if g != "users" && contains(groups[g], u.Email) {
				user.Groups = append(user.Groups, iam.ComplexValue{Display: g, Value: groupID(g), Ref: "Groups/" + groupID(g), Type: "direct"})
			}
		}
		all = append(all, user)
	}
	lo, hi, ok := s.scimPage(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, iam.ListUsersResponse{Resources: all[lo:hi], StartIndex: int64(lo + 1), ItemsPerPage: int64(hi - lo),
		TotalResults: int64(len(all)), Schemas: []iam.ListResponseSchema{iam.ListResponseSchemaUrnIetfParamsScimApiMessages20ListResponse},
		ForceSendFields: []string{"ItemsPerPage", "TotalResults", "StartIndex"}})
}

func (s *Server) scimGroups(w http.ResponseWriter, r *http.Request) {
	groups := s.memberships(s.Now())
	var all []iam.Group
	for _, g := range sortedKeys(groups) {
		grp := iam.Group{Id: groupID(g), DisplayName: g, Schemas: []iam.GroupSchema{iam.GroupSchemaUrnIetfParamsScimSchemasCore20Group}}
		for _, m := range groups[g] {
			p := s.world.Population.ByEmail(m)
			if p == nil {
				continue
			}
			ref := "Users/" + p.ID
			if p.ServicePrinc {
				ref = "ServicePrincipals/" + p.ID
			}
			grp.Members = append(grp.Members, iam.ComplexValue{Display: p.DisplayName, Value: p.ID, Ref: ref})
		}
		all = append(all, grp)
	}
	lo, hi, ok := s.scimPage(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, iam.ListGroupsResponse{Resources: all[lo:hi], StartIndex: int64(lo + 1), ItemsPerPage: int64(hi - lo),
		TotalResults: int64(len(all)), Schemas: []iam.ListResponseSchema{iam.ListResponseSchemaUrnIetfParamsScimApiMessages20ListResponse},
		ForceSendFields: []string{"ItemsPerPage", "TotalResults", "StartIndex"}})
}

func (s *Server) scimServicePrincipals(w http.ResponseWriter, r *http.Request) {
	var all []iam.ServicePrincipal
	for _, sp := range s.world.Population.ServicePrincipals {
		all = append(all, iam.ServicePrincipal{Id: sp.ID, ApplicationId: sp.ApplicationID, DisplayName: sp.DisplayName, Active: true,
			Schemas:         []iam.ServicePrincipalSchema{iam.ServicePrincipalSchemaUrnIetfParamsScimSchemasCore20ServicePrincipal},
			Groups:          []iam.ComplexValue{{Display: "service-principals", Value: groupID("service-principals")}},
			ForceSendFields: []string{"Active"}})
	}
	lo, hi, ok := s.scimPage(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, iam.ListServicePrincipalResponse{Resources: all[lo:hi], StartIndex: int64(lo + 1), ItemsPerPage: int64(hi - lo),
		TotalResults: int64(len(all)), Schemas: []iam.ListResponseSchema{iam.ListResponseSchemaUrnIetfParamsScimApiMessages20ListResponse},
		ForceSendFields: []string{"ItemsPerPage", "TotalResults", "StartIndex"}})
}

// scimPage applies SCIM's 1-based startIndex and count (capped at the server page size).
func (s *Server) scimPage(w http.ResponseWriter, r *http.Request, n int) (lo, hi int, ok bool) {
	q := r.URL.Query()
	start, count := 1, s.opts.PageSize
	if v := q.Get("startIndex"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "startIndex must be an integer")
			return 0, 0, false
		}
		start = max(1, x)
	}
	if v := q.Get("count"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x < 0 {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "count must be a non-negative integer")
			return 0, 0, false
		}
		count = min(x, s.opts.PageSize)
	}
	lo = min(start-1, n)
	return lo, min(lo+count, n), true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
