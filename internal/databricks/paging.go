package databricks

import (
	"context"
	"fmt"
)

// collectTokenPages follows next_page_token until the server stops sending one. Any page
// failure fails the whole listing (after the transport's retries): a partial list must
// never look like a complete one. A repeated token means the server is looping, which is
// reported instead of spinning until the context ends.
func collectTokenPages[T any](ctx context.Context, endpoint string, fetch func(ctx context.Context, token string) (items []T, next string, err error)) ([]T, error) {
	var all []T
	seen := map[string]struct{}{}
	token := ""
	for {
		items, next, err := fetch(ctx, token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if _, dup := seen[next]; dup {
			return nil, fmt.Errorf("%s: server repeated page token %q", endpoint, next)
		}
		seen[next] = struct{}{}
		token = next
	}
}

// queryParams drops zero values: the SDK sends every map entry, and the APIs read
// "page_token=" or "active_only=false" as explicit (sometimes invalid) filters.
func queryParams(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		switch t := v.(type) {
		case string:
			if t == "" {
				continue
			}
		case int:
			if t == 0 {
				continue
			}
		case int64:
			if t == 0 {
				continue
			}
		case bool:
			if !t {
				continue
			}
		}
		out[k] = v
	}
	return out
}
