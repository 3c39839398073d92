package databricks

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

const (
	testClientID     = "6a1f3c2e-0000-4000-8000-00000000c11e"
	testClientSecret = "dose-test-client-secret-xyz"
	testAccessToken  = "oauth-access-token-abc"
)

// serveOAuth makes fw an OAuth M2M workspace: the OIDC discovery document and the
// client-credentials token endpoint live under the workspace host, as on Databricks.
func serveOAuth(t *testing.T, fw *fakeWorkspace, tokenRequests *atomic.Int32) {
	fw.bearer = testAccessToken
	fw.handle("GET /oidc/.well-known/oauth-authorization-server", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"authorization_endpoint": fw.srv.URL + "/oidc/v1/authorize",
			"token_endpoint":         fw.srv.URL + "/oidc/v1/token",
		})
	})
	fw.handle("POST /oidc/v1/token", func(w http.ResponseWriter, r *http.Request) {
		tokenRequests.Add(1)
		id, secret, ok := r.BasicAuth()
		require.NoError(t, r.ParseForm())
		if !ok || id != testClientID || secret != testClientSecret {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "Client authentication failed"})
			return
		}
		assert.Equal(t, "client_credentials", r.PostForm.Get("grant_type"))
		assert.Equal(t, "all-apis", r.PostForm.Get("scope"))
		writeJSON(w, http.StatusOK, map[string]any{"access_token": testAccessToken, "token_type": "Bearer", "expires_in": 3600})
	})
}

func TestOAuthMachineToMachineOverHTTP(t *testing.T) {
	fw := newFakeWorkspace(t)
	var tokenRequests atomic.Int32
	serveOAuth(t, fw, &tokenRequests)
	fw.handle("GET /api/2.0/sql/warehouses", warehousesOK)

	cfg := NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	cfg.ClientID = testClientID
	cfg.ClientSecret = testClientSecret
	c := newTestClient(t, cfg)

	for range 2 {
		whs, err := c.ListWarehouses(context.Background())
		require.NoError(t, err)
		require.Len(t, whs, 1)
	}
	assert.Equal(t, int32(1), tokenRequests.Load(), "the token is cached")
	assert.Equal(t, 2, fw.count("GET /api/2.0/sql/warehouses"))
	assert.Equal(t, 1, fw.count("GET /oidc/.well-known/oauth-authorization-server"))
	assert.Equal(t, int64(4), c.Stats().Requests, "discovery, token and two API calls")
}

func TestOAuthFailureDoesNotLeakTheSecret(t *testing.T) {
	fw := newFakeWorkspace(t)
	var tokenRequests atomic.Int32
	serveOAuth(t, fw, &tokenRequests)
	cfg := NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	cfg.ClientID = testClientID
	cfg.ClientSecret = "wrong-" + testClientSecret
	c := newTestClient(t, cfg)

	_, err := c.ListWarehouses(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET /api/2.0/sql/warehouses")
	assert.NotContains(t, err.Error(), testClientSecret)
	assert.Zero(t, fw.count("GET /api/2.0/sql/warehouses"), "no API call without a token")
}

func TestPATIsSentAndRejectionDoesNotLeakIt(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.0/sql/warehouses", warehousesOK)
	c := fw.client()
	_, err := c.ListWarehouses(context.Background())
	require.NoError(t, err, "the configured token is accepted")

	fw.bearer = "rotated-token"
	_, err = c.ListWarehouses(context.Background())
	require.Error(t, err)
	assert.Equal(t, "GET /api/2.0/sql/warehouses: HTTP 401 UNAUTHENTICATED: Invalid access token.", err.Error())
	assert.NotContains(t, err.Error(), testToken)
}

func TestEnvironmentFallback(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.0/sql/warehouses", warehousesOK)
	t.Setenv("DATABRICKS_HOST", fw.srv.URL)
	t.Setenv("DATABRICKS_TOKEN", testToken)

	c := newTestClient(t, NewDefaultClientConfig())
	whs, err := c.ListWarehouses(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "wh1", whs[0].Id)
	assert.Equal(t, fw.srv.URL, c.Host())
}

func TestConfiguredKeysWinOverEnvironment(t *testing.T) {
	fw := newFakeWorkspace(t)
	fw.handle("GET /api/2.0/sql/warehouses", warehousesOK)
	t.Setenv("DATABRICKS_HOST", "https://elsewhere.invalid")
	t.Setenv("DATABRICKS_CLIENT_ID", "env-client")
	t.Setenv("DATABRICKS_CLIENT_SECRET", "env-secret")

	cfg := NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	cfg.Token = configopaque.String(testToken)
	c := newTestClient(t, cfg)
	_, err := c.ListWarehouses(context.Background())
	require.NoError(t, err)
	assert.Equal(t, fw.srv.URL, c.Host())
}

func TestNoCredentialsFailsOnFirstCallWithoutSecrets(t *testing.T) {
	fw := newFakeWorkspace(t)
	cfg := NewDefaultClientConfig()
	cfg.Endpoint = fw.srv.URL
	c := newTestClient(t, cfg)
	_, err := c.ListClusters(context.Background())
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "GET /api/2.1/clusters/list: "), err.Error())
	assert.Zero(t, fw.count("GET /api/2.1/clusters/list"))
}
