package databricks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestNewDefaultClientConfig(t *testing.T) {
	cfg := NewDefaultClientConfig()
	assert.Equal(t, 10.0, cfg.MaxRequestsPerSecond)
	assert.Equal(t, 60*time.Second, cfg.Timeout)
	assert.False(t, cfg.TLS.InsecureSkipVerify, "TLS verification is on by default")
	require.NoError(t, cfg.Validate())
}

func TestClientConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*ClientConfig)
		wantErr []string
	}{
		{"defaults", func(*ClientConfig) {}, nil},
		{"pat", func(c *ClientConfig) { c.Endpoint = "https://adb-1234.5.azuredatabricks.net"; c.Token = "dapi" }, nil},
		{"m2m over http simulator", func(c *ClientConfig) { c.Endpoint = "http://127.0.0.1:8080"; c.ClientID = "id"; c.ClientSecret = "s" }, nil},
		{"trailing slash", func(c *ClientConfig) { c.Endpoint = "https://host.cloud.databricks.com/" }, nil},
		{"bad scheme", func(c *ClientConfig) { c.Endpoint = "ftp://host" }, []string{`endpoint: scheme must be https (or http for a local simulator), got "ftp"`}},
		{"no scheme", func(c *ClientConfig) { c.Endpoint = "adb-1234.5.azuredatabricks.net" }, []string{"endpoint: scheme must be https"}},
		{"path", func(c *ClientConfig) { c.Endpoint = "https://host/api/2.0" }, []string{"endpoint: must be the workspace root URL without a path"}},
		{"credentials in URL", func(c *ClientConfig) { c.Endpoint = "https://user:hunter2@host" }, []string{"endpoint: must not contain credentials"}},
		{"token and m2m", func(c *ClientConfig) { c.Token = "dapi"; c.ClientID = "id"; c.ClientSecret = "s" }, []string{"token and client_id/client_secret are mutually exclusive"}},
		{"id without secret", func(c *ClientConfig) { c.ClientID = "id" }, []string{"client_secret: required when client_id is set"}},
		{"secret without id", func(c *ClientConfig) { c.ClientSecret = "s" }, []string{"client_id: required when client_secret is set"}},
		{"negative timeout", func(c *ClientConfig) { c.Timeout = -time.Second }, []string{"timeout: must not be negative"}},
		{"zero rate", func(c *ClientConfig) { c.MaxRequestsPerSecond = 0 }, []string{"max_requests_per_second: must be greater than 0"}},
		{"tls", func(c *ClientConfig) { c.TLS.MinVersion = "1.9" }, []string{"tls: "}},
		{"several at once", func(c *ClientConfig) { c.Timeout = -1; c.MaxRequestsPerSecond = -1 }, []string{"timeout:", "max_requests_per_second:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultClientConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestNewRejectsInvalidConfigWithoutIO(t *testing.T) {
	cfg := NewDefaultClientConfig()
	cfg.MaxRequestsPerSecond = 0
	_, err := New(cfg, zap.NewNop())
	require.ErrorContains(t, err, "max_requests_per_second")
}

func TestNewNeedsAnEndpointFromConfigOrEnvironment(t *testing.T) {
	isolateFromEnvironment(t)
	_, err := New(NewDefaultClientConfig(), zap.NewNop())
	require.EqualError(t, err, "endpoint: not set, and DATABRICKS_HOST is empty")
}
