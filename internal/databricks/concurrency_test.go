package databricks

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentCallsShareOneClient runs under -race: receivers call the client from
// several scrapers at once, starting with an unauthenticated OAuth client.
func TestConcurrentCallsShareOneClient(t *testing.T) {
	fw := newFakeWorkspace(t)
	var tokenRequests atomic.Int32
	serveOAuth(t, fw, &tokenRequests)
	fw.handle("GET /api/2.0/sql/warehouses", failFirst(3, http.StatusServiceUnavailable, "", warehousesOK))
	cfg := NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	cfg.ClientID = testClientID
	cfg.ClientSecret = testClientSecret
	cfg.MaxRequestsPerSecond = 1000
	c := newTestClient(t, cfg)

	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			whs, err := c.ListWarehouses(context.Background())
			if err == nil && len(whs) != 1 {
				err = assert.AnError
			}
			errs <- err
			_ = c.Stats()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), tokenRequests.Load())
	assert.Equal(t, callers+3, fw.count("GET /api/2.0/sql/warehouses"))
	st := c.Stats()
	assert.Equal(t, int64(3), st.Throttles)
	assert.Equal(t, int64(3), st.Retries)
}
