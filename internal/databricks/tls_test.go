package databricks

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

func TestTLSVerificationUsesConfiguredCAAndFailsFastWithoutIt(t *testing.T) {
	isolateFromEnvironment(t)
	var served atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		warehousesOK(w, r)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	cfg := NewDefaultClientConfig()
	cfg.Endpoint = srv.URL
	cfg.Token = configopaque.String(testToken)

	untrusted := newTestClient(t, cfg)
	_, err := untrusted.ListWarehouses(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET /api/2.0/sql/warehouses")
	assert.Contains(t, err.Error(), "certificate")
	assert.Equal(t, int64(0), untrusted.Stats().Retries, "a certificate error is not retried")

	cfg.TLS.CAFile = caFile
	trusted := newTestClient(t, cfg)
	whs, err := trusted.ListWarehouses(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "wh1", whs[0].Id)
	assert.Equal(t, int32(1), served.Load())
}
