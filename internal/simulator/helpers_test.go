package simulator

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The SDK's shared HTTP transport keeps idle connections (and their readers) alive.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		// The SDK's per-request timeout watcher outlives a request until its deadline.
		goleak.IgnoreTopFunction("github.com/databricks/databricks-sdk-go/httpclient.(*timeoutContext).run"),
	)
}

// smallScenario is a one-day workspace small enough for fast tests.
func smallScenario(t testing.TB) *Scenario {
	t.Helper()
	s, err := ParseScenario([]byte(`
name: small
seed: 11
start: "2026-01-05T00:00:00Z"
duration: 24h
users: 12
service_principals: 2
rate: 0.02
clusters: 4
jobs: 5
warehouses: 2
delivery: {late_fraction: 0.1}
attacks:
  - {rule: DBX-W01, at: 10h}
  - {rule: DBX-S01, at: 11h}
`))
	require.NoError(t, err)
	return s
}

func buildWorld(t testing.TB, s *Scenario) *World {
	t.Helper()
	w, err := Build(s, Options{})
	require.NoError(t, err)
	return w
}

// startServer runs the simulator on an httptest server until the test ends.
func startServer(t testing.TB, w *World, opts ServerOptions) (*Server, *httptest.Server) {
	t.Helper()
	sim := NewServer(w, opts)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	return sim, hs
}

// sdkClient is a databricks-sdk-go workspace client pointed at the simulator with a PAT.
func sdkClient(t testing.TB, host, token string) *databricks.WorkspaceClient {
	t.Helper()
	w, err := databricks.NewWorkspaceClient(&databricks.Config{Host: host, Token: token, AuthType: "pat",
		RateLimitPerSecond: 1000, RetryTimeoutSeconds: 5, HTTPTimeoutSeconds: 10})
	require.NoError(t, err)
	return w
}

func mid(w *World) time.Time { return w.Start.Add(w.End.Sub(w.Start) / 2) }
