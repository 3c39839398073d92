package databricks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap/zaptest"
)

const testToken = "dapi-test-secret-token-0123456789"

// fakeWorkspace is an httptest server speaking the Databricks REST shapes the tests need.
// It checks the bearer token like a workspace does and counts what it served.
type fakeWorkspace struct {
	t      *testing.T
	srv    *httptest.Server
	mux    *http.ServeMux
	bearer string

	mu     sync.Mutex
	served map[string]int
	bodies map[string][]string
}

func newFakeWorkspace(t *testing.T) *fakeWorkspace {
	t.Helper()
	isolateFromEnvironment(t)
	fw := &fakeWorkspace{t: t, mux: http.NewServeMux(), bearer: testToken,
		served: map[string]int{}, bodies: map[string][]string{}}
	fw.srv = httptest.NewServer(http.HandlerFunc(fw.serve))
	t.Cleanup(fw.srv.Close)
	return fw
}

func (fw *fakeWorkspace) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	fw.mu.Lock()
	fw.served[key]++
	fw.bodies[key] = append(fw.bodies[key], string(body))
	fw.mu.Unlock()
	if !isOAuthPath(r.URL.Path) && r.Header.Get("Authorization") != "Bearer "+fw.bearer {
		writeAPIError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Invalid access token.")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	fw.mux.ServeHTTP(w, r)
}

func isOAuthPath(p string) bool {
	return len(p) >= 6 && p[:6] == "/oidc/"
}

// count returns how many requests "METHOD /path" the server received.
func (fw *fakeWorkspace) count(key string) int {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.served[key]
}

func (fw *fakeWorkspace) requestBodies(key string) []string {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return append([]string(nil), fw.bodies[key]...)
}

func (fw *fakeWorkspace) handle(pattern string, h http.HandlerFunc) { fw.mux.HandleFunc(pattern, h) }

// client returns a PAT client for this server with fast retry and poll pacing.
func (fw *fakeWorkspace) client(opts ...Option) *Client {
	fw.t.Helper()
	cfg := NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	cfg.Token = configopaque.String(fw.bearer)
	cfg.MaxRequestsPerSecond = 1000
	return newTestClient(fw.t, cfg, opts...)
}

func newTestClient(t *testing.T, cfg ClientConfig, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithRetryPolicy(RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 40 * time.Millisecond, Multiplier: 2, MaxElapsedTime: 5 * time.Second}),
		WithPollPolicy(PollPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}),
	}
	c, err := New(cfg, zaptest.NewLogger(t), append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// isolateFromEnvironment keeps a developer's DATABRICKS_* variables out of the tests.
func isolateFromEnvironment(t *testing.T) {
	for _, name := range []string{
		"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
		"DATABRICKS_ACCOUNT_ID", "DATABRICKS_AUTH_TYPE", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE",
		"DATABRICKS_USERNAME", "DATABRICKS_PASSWORD", "DATABRICKS_WORKSPACE_ID", "DATABRICKS_RATE_LIMIT",
	} {
		t.Setenv(name, "")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeAPIError answers in the Databricks error shape.
func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error_code": code, "message": message})
}

// failFirst answers the first n requests with status (and Retry-After when given), then
// delegates to next.
func failFirst(n int, status int, retryAfter string, next http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	seen := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen++
		fail := seen <= n
		mu.Unlock()
		if fail {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			writeAPIError(w, status, "TEMPORARILY_UNAVAILABLE", fmt.Sprintf("fault %d", status))
			return
		}
		next(w, r)
	}
}

func strPtr(s string) *string { return &s }
