package databricks

import (
	"context"
	"errors"
	"net/http"

	"github.com/databricks/databricks-sdk-go/service/iam"
)

const (
	pathSCIMMe                = "/api/2.0/preview/scim/v2/Me"
	pathSCIMUsers             = "/api/2.0/preview/scim/v2/Users"
	pathSCIMGroups            = "/api/2.0/preview/scim/v2/Groups"
	pathSCIMServicePrincipals = "/api/2.0/preview/scim/v2/ServicePrincipals"
	// scimPageSize keeps one page of groups with their member lists moderate; the server
	// may return fewer per page, the client pages on what it actually received.
	scimPageSize = 1000
)

// scimPage is the part of a SCIM list response that paging needs.
type scimPage[T any] struct {
	resources    []T
	totalResults int64
}

// collectSCIMPages pages with the 1-based startIndex/count scheme. It advances by the
// number of resources received (servers may cap count), stops on an empty page or once
// totalResults are read, and drops duplicates that shifting data can cause between pages.
func collectSCIMPages[T any](ctx context.Context, id func(T) string,
	decode func(ctx context.Context, query map[string]any) (scimPage[T], error),
) ([]T, error) {
	var all []T
	seen := map[string]struct{}{}
	var read int64
	start := int64(1)
	for {
		page, err := decode(ctx, map[string]any{"startIndex": start, "count": scimPageSize})
		if err != nil {
			return nil, err
		}
		if len(page.resources) == 0 {
			return all, nil
		}
		added := 0
		for _, r := range page.resources {
			if _, dup := seen[id(r)]; dup {
				continue
			}
			seen[id(r)] = struct{}{}
			all = append(all, r)
			added++
		}
		// A page of nothing but repeats means the server ignores startIndex; stopping
		// here is the only way such a listing ends.
		if added == 0 {
			return all, nil
		}
		read += int64(len(page.resources))
		start += int64(len(page.resources))
		if page.totalResults > 0 && read >= page.totalResults {
			return all, nil
		}
	}
}

func usersPage(r *iam.ListUsersResponse) scimPage[iam.User] {
	return scimPage[iam.User]{resources: r.Resources, totalResults: r.TotalResults}
}

func groupsPage(r *iam.ListGroupsResponse) scimPage[iam.Group] {
	return scimPage[iam.Group]{resources: r.Resources, totalResults: r.TotalResults}
}

func servicePrincipalsPage(r *iam.ListServicePrincipalResponse) scimPage[iam.ServicePrincipal] {
	return scimPage[iam.ServicePrincipal]{resources: r.Resources, totalResults: r.TotalResults}
}

// ListUsers returns every workspace user (SCIM).
func (c *Client) ListUsers(ctx context.Context) ([]iam.User, error) {
	return collectSCIMPages(ctx, func(u iam.User) string { return u.Id },
		func(ctx context.Context, query map[string]any) (scimPage[iam.User], error) {
			var resp iam.ListUsersResponse
			err := c.call(ctx, retryIdempotent, http.MethodGet, pathSCIMUsers, query, nil, &resp)
			return usersPage(&resp), err
		})
}

// ListGroups returns every workspace group with its members (SCIM).
func (c *Client) ListGroups(ctx context.Context) ([]iam.Group, error) {
	return collectSCIMPages(ctx, func(g iam.Group) string { return g.Id },
		func(ctx context.Context, query map[string]any) (scimPage[iam.Group], error) {
			var resp iam.ListGroupsResponse
			err := c.call(ctx, retryIdempotent, http.MethodGet, pathSCIMGroups, query, nil, &resp)
			return groupsPage(&resp), err
		})
}

// ListServicePrincipals returns every workspace service principal (SCIM).
func (c *Client) ListServicePrincipals(ctx context.Context) ([]iam.ServicePrincipal, error) {
	return collectSCIMPages(ctx, func(sp iam.ServicePrincipal) string { return sp.Id },
		func(ctx context.Context, query map[string]any) (scimPage[iam.ServicePrincipal], error) {
			var resp iam.ListServicePrincipalResponse
			err := c.call(ctx, retryIdempotent, http.MethodGet, pathSCIMServicePrincipals, query, nil, &resp)
			return servicePrincipalsPage(&resp), err
		})
}

// WorkspaceID returns the numeric id of the workspace, which the service names in the
// X-Databricks-Org-Id header of SCIM Me (as the SDK's CurrentWorkspaceID reads it). AWS and
// GCP host names do not carry the id, so this is the one source that works on every cloud.
func (c *Client) WorkspaceID(ctx context.Context) (string, error) {
	var me struct {
		OrgID string `json:"-" header:"X-Databricks-Org-Id"`
	}
	headers := map[string]string{"Accept": "application/json"}
	if err := c.authenticate(); err != nil {
		return "", &EndpointError{Method: http.MethodGet, Path: pathSCIMMe, Err: err}
	}
	query := map[string]any{"attributes": "id"}
	if err := c.api.Do(withRetryMode(ctx, retryIdempotent), http.MethodGet, pathSCIMMe, headers, query, nil, &me); err != nil {
		return "", &EndpointError{Method: http.MethodGet, Path: pathSCIMMe, Err: err}
	}
	if me.OrgID == "" {
		return "", &EndpointError{Method: http.MethodGet, Path: pathSCIMMe, Err: errors.New("no X-Databricks-Org-Id header in the answer")}
	}
	return me.OrgID, nil
}
