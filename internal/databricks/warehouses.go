package databricks

import (
	"context"
	"net/http"

	"github.com/databricks/databricks-sdk-go/service/sql"
)

const pathWarehousesList = "/api/2.0/sql/warehouses"

// ListWarehouses returns every SQL warehouse. No page_size is sent, so servers that
// predate paging answer with the full list; next_page_token is followed when present.
func (c *Client) ListWarehouses(ctx context.Context) ([]sql.EndpointInfo, error) {
	return collectTokenPages(ctx, http.MethodGet+" "+pathWarehousesList,
		func(ctx context.Context, token string) ([]sql.EndpointInfo, string, error) {
			query := queryParams(map[string]any{"page_token": token})
			var page sql.ListWarehousesResponse
			err := c.call(ctx, retryIdempotent, http.MethodGet, pathWarehousesList, query, nil, &page)
			return page.Warehouses, page.NextPageToken, err
		})
}
