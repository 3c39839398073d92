package databricks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/databricks/databricks-sdk-go/service/compute"
)

const (
	pathClustersList   = "/api/2.1/clusters/list"
	pathClustersEvents = "/api/2.1/clusters/events"
	clustersPageSize   = 100
	// clusterEventsPageSize is the API maximum for both limit (legacy) and page_size.
	clusterEventsPageSize = 500
)

// ListClusters returns every cluster the API lists (pinned, active and terminated within
// 30 days), following next_page_token to the end.
func (c *Client) ListClusters(ctx context.Context) ([]compute.ClusterDetails, error) {
	return collectTokenPages(ctx, http.MethodGet+" "+pathClustersList,
		func(ctx context.Context, token string) ([]compute.ClusterDetails, string, error) {
			query := queryParams(map[string]any{"page_size": clustersPageSize, "page_token": token})
			var page compute.ListClustersResponse
			err := c.call(ctx, retryIdempotent, http.MethodGet, pathClustersList, query, nil, &page)
			return page.Clusters, page.NextPageToken, err
		})
}

// ClusterEvents returns the events of one cluster with timestamp >= startTimeMillis,
// oldest first. It asks in the legacy limit/offset style and follows whichever paging the
// server answers with: the legacy next_page request object, or next_page_token.
func (c *Client) ClusterEvents(ctx context.Context, clusterID string, startTimeMillis int64) ([]compute.ClusterEvent, error) {
	return collectClusterEvents(ctx, clusterID, startTimeMillis, func(ctx context.Context, req compute.GetEvents) (compute.GetEventsResponse, error) {
		var page compute.GetEventsResponse
		err := c.call(ctx, retryIdempotent, http.MethodPost, pathClustersEvents, nil, req, &page)
		return page, err
	})
}

// collectClusterEvents does the paging, filtering and ordering of ClusterEvents over fetch,
// one request per page.
func collectClusterEvents(ctx context.Context, clusterID string, startTimeMillis int64,
	fetch func(ctx context.Context, req compute.GetEvents) (compute.GetEventsResponse, error),
) ([]compute.ClusterEvent, error) {
	endpoint := http.MethodPost + " " + pathClustersEvents
	req := compute.GetEvents{
		ClusterId: clusterID,
		StartTime: startTimeMillis,
		Order:     compute.GetEventsOrderAsc,
		Limit:     clusterEventsPageSize,
	}
	var events []compute.ClusterEvent
	seen := map[string]struct{}{}
	for {
		page, err := fetch(ctx, req)
		if err != nil {
			return nil, err
		}
		events = append(events, page.Events...)
		next, ok := nextEventsRequest(req, page)
		if !ok {
			break
		}
		key, err := json.Marshal(next)
		if err != nil {
			return nil, fmt.Errorf("%s: encoding next page request: %w", endpoint, err)
		}
		if _, dup := seen[string(key)]; dup {
			return nil, fmt.Errorf("%s: server repeated the same next page for cluster %s", endpoint, clusterID)
		}
		seen[string(key)] = struct{}{}
		req = next
	}
	// The server is asked for ascending order from startTimeMillis; enforcing both here
	// keeps the caller's cursor logic correct against servers that ignore either.
	kept := events[:0]
	for _, e := range events {
		if e.Timestamp >= startTimeMillis {
			kept = append(kept, e)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Timestamp < kept[j].Timestamp })
	return kept, nil
}

func nextEventsRequest(prev compute.GetEvents, page compute.GetEventsResponse) (compute.GetEvents, bool) {
	if page.NextPage != nil {
		next := *page.NextPage
		if next.ClusterId == "" {
			next.ClusterId = prev.ClusterId
		}
		return next, true
	}
	if page.NextPageToken != "" {
		return compute.GetEvents{
			ClusterId: prev.ClusterId,
			StartTime: prev.StartTime,
			EndTime:   prev.EndTime,
			Order:     prev.Order,
			PageSize:  clusterEventsPageSize,
			PageToken: page.NextPageToken,
		}, true
	}
	return compute.GetEvents{}, false
}
