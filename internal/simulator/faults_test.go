package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestFaults(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	const path = "/api/2.1/clusters/list"
	tests := []struct {
		kind  FaultKind
		check func(t *testing.T, resp *http.Response, body []byte, took time.Duration)
	}{
		{Fault429, func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
			assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Retry-After"))
			assert.JSONEq(t, `{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"Too many requests. Please wait a moment and try again."}`, string(body))
		}},
		{Fault429RetryAfter, func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
			assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.Equal(t, "3", resp.Header.Get("Retry-After"))
			assert.Contains(t, string(body), "REQUEST_LIMIT_EXCEEDED")
		}},
		{Fault500, func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
			assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			assert.Contains(t, string(body), `"INTERNAL_ERROR"`)
		}},
		{Fault503, func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Contains(t, string(body), `"TEMPORARILY_UNAVAILABLE"`)
		}},
		{FaultSlow, func(t *testing.T, resp *http.Response, body []byte, took time.Duration) {
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.GreaterOrEqual(t, took, 150*time.Millisecond)
			assert.True(t, json.Valid(body))
		}},
		{FaultTruncated, func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.False(t, json.Valid(body))
			assert.True(t, strings.HasPrefix(string(body), `{"clusters":[{`), string(body[:20]))
		}},
		{FaultMalformed, func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.False(t, json.Valid(body))
		}},
		{FaultExpiredToken, func(t *testing.T, resp *http.Response, body []byte, _ time.Duration) {
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Contains(t, string(body), `"UNAUTHENTICATED"`)
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			sim, hs := startServer(t, world, ServerOptions{Faults: []FaultRule{{Path: path, Kind: tt.kind, Count: 1, RetryAfter: 3 * time.Second, Delay: 150 * time.Millisecond}}})
			start := time.Now()
			resp, body := get(t, hs.URL+path, sim.Token())
			tt.check(t, resp, body, time.Since(start))
			// The fault fired once (count: 1): the next request gets the real answer.
			resp, body = get(t, hs.URL+path, sim.Token())
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.True(t, json.Valid(body))
			// Other endpoints are not affected.
			resp, _ = get(t, hs.URL+"/api/2.0/sql/warehouses", sim.Token())
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			st := sim.Stats()
			assert.Equal(t, map[string]int64{string(tt.kind): 1}, st.Faults)
			assert.Equal(t, int64(2), st.Requests["GET "+path])

			var viaHTTP Stats
			_, b := get(t, hs.URL+"/sim/stats", "")
			require.NoError(t, json.Unmarshal(b, &viaHTTP))
			assert.Equal(t, st.Faults, viaHTTP.Faults)
		})
	}
}

func TestFaultSchedules(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	sim, hs := startServer(t, world, ServerOptions{Faults: []FaultRule{{Path: "*", Kind: Fault503, Every: 3}}})
	var codes []int
	for i := 0; i < 7; i++ {
		resp, _ := get(t, hs.URL+"/api/2.0/sql/warehouses", sim.Token())
		codes = append(codes, resp.StatusCode)
	}
	assert.Equal(t, []int{200, 200, 503, 200, 200, 503, 200}, codes)
	assert.Equal(t, int64(2), sim.Stats().Faults["503"])

	// Faults can be replaced at run time over HTTP.
	req, err := http.NewRequest(http.MethodPut, hs.URL+"/sim/faults", strings.NewReader(`[{"path":"/api/2.0/sql","kind":"500"}]`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	r1, _ := get(t, hs.URL+"/api/2.0/sql/warehouses", sim.Token())
	r2, _ := get(t, hs.URL+"/api/2.1/clusters/list", sim.Token())
	assert.Equal(t, http.StatusInternalServerError, r1.StatusCode)
	assert.Equal(t, http.StatusOK, r2.StatusCode)
}

func TestParseFaultRule(t *testing.T) {
	f, err := ParseFaultRule("path=/api/2.1/clusters/list,kind=429-retry-after,count=3,retry_after=2s")
	require.NoError(t, err)
	assert.Equal(t, FaultRule{Path: "/api/2.1/clusters/list", Kind: Fault429RetryAfter, Count: 3, RetryAfter: 2 * time.Second}, f)
	for _, bad := range []string{"kind=teapot", "path=/x", "kind=500,count=x", "kind=500,colour=red", "kind"} {
		_, err := ParseFaultRule(bad)
		assert.Error(t, err, bad)
	}
}

func TestAuthRequired(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	sim, hs := startServer(t, world, ServerOptions{})
	for _, tok := range []string{"", "dapi-wrong"} {
		resp, body := get(t, hs.URL+"/api/2.2/jobs/list", tok)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.JSONEq(t, `{"error_code":"UNAUTHENTICATED","message":"Invalid access token."}`, string(body))
	}
	assert.Equal(t, int64(2), sim.Stats().Unauthorized)
	resp, _ := get(t, hs.URL+"/api/2.2/jobs/list", sim.Token())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
