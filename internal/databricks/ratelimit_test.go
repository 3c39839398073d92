package databricks

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

func TestRateLimitIsHonoured(t *testing.T) {
	tests := []struct {
		name     string
		rps      float64
		requests int
		// The bucket starts full (burst = floor(rps), at least 1), so the first `burst`
		// requests pass at once and the rest are spaced 1/rps apart.
		wantAtLeast time.Duration
	}{
		{"5 per second", 5, 11, 1200 * time.Millisecond},
		{"fractional rate", 2.5, 4, 800 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := newFakeWorkspace(t)
			fw.handle("GET /api/2.0/sql/warehouses", warehousesOK)
			cfg := NewDefaultClientConfig()
			cfg.Endpoint = fw.srv.URL
			cfg.Token = configopaque.String(testToken)
			cfg.MaxRequestsPerSecond = tt.rps
			c := newTestClient(t, cfg)

			start := time.Now()
			for range tt.requests {
				_, err := c.ListWarehouses(context.Background())
				require.NoError(t, err)
			}
			elapsed := time.Since(start)
			assert.GreaterOrEqual(t, elapsed, tt.wantAtLeast)
			assert.Less(t, elapsed, tt.wantAtLeast+time.Second)
			assert.Equal(t, tt.requests, fw.count("GET /api/2.0/sql/warehouses"))
		})
	}
}

func TestRateLimitAlsoPacesRetries(t *testing.T) {
	fw := newFakeWorkspace(t)
	var failuresLeft atomic.Int32
	fw.handle("GET /api/2.0/sql/warehouses", func(w http.ResponseWriter, r *http.Request) {
		if failuresLeft.Add(-1) >= 0 {
			writeAPIError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "boom")
			return
		}
		warehousesOK(w, r)
	})
	cfg := NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	cfg.Token = configopaque.String(testToken)
	cfg.MaxRequestsPerSecond = 4
	// Backoff far below the limiter's spacing, so the limiter alone sets the pace.
	c := newTestClient(t, cfg, WithRetryPolicy(RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, Multiplier: 1, MaxElapsedTime: 10 * time.Second}))
	// Spend the initial burst of 4, then one call whose first three attempts fail: the 8
	// requests take at least a second from the first, the last four spaced 250 ms apart by the
	// limiter. (Timed from the first request: on a loaded machine the burst can take long
	// enough to refill a token, and only the total is certain.)
	start := time.Now()
	for range 4 {
		_, err := c.ListWarehouses(context.Background())
		require.NoError(t, err)
	}
	failuresLeft.Store(3)
	_, err := c.ListWarehouses(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 950*time.Millisecond, "eight requests at 4/s with a burst of 4")
	assert.Equal(t, 8, fw.count("GET /api/2.0/sql/warehouses"))
}
