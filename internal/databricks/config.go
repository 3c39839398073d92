package databricks

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
)

const (
	// DefaultMaxRequestsPerSecond stays below the tightest published per-workspace limits
	// (SCIM GET at 255 req/min is about 4 req/s sustained, but burst-friendly) while leaving
	// room for several collectors on one workspace.
	DefaultMaxRequestsPerSecond = 10.0
	// DefaultTimeout bounds one HTTP attempt (request, response headers and body); the SDK
	// uses the same value.
	DefaultTimeout = 60 * time.Second
)

// ClientConfig holds the connection settings shared by both receivers. Receivers embed it
// with `mapstructure:",squash"` so that its keys are top-level (DESIGN §2). Keys left empty
// fall back to the SDK's environment variables (DATABRICKS_HOST, DATABRICKS_TOKEN,
// DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET, DATABRICKS_ACCOUNT_ID, ...).
type ClientConfig struct {
	// Endpoint is the workspace URL; http:// is accepted for the simulator and tests.
	Endpoint string `mapstructure:"endpoint"`
	// Token is a personal access token.
	Token configopaque.String `mapstructure:"token"`
	// ClientID and ClientSecret select OAuth machine-to-machine authentication.
	ClientID     string              `mapstructure:"client_id"`
	ClientSecret configopaque.String `mapstructure:"client_secret"`
	// AccountID is only needed for account-level APIs.
	AccountID string `mapstructure:"account_id"`
	// Timeout bounds one HTTP attempt; retries get their own attempt timeout.
	Timeout time.Duration          `mapstructure:"timeout"`
	TLS     configtls.ClientConfig `mapstructure:"tls"`
	// MaxRequestsPerSecond is the client-side rate limit over every HTTP attempt, retries
	// and OAuth token requests included.
	MaxRequestsPerSecond float64 `mapstructure:"max_requests_per_second"`
}

// NewDefaultClientConfig returns the defaults documented in the README.
func NewDefaultClientConfig() ClientConfig {
	return ClientConfig{
		Timeout:              DefaultTimeout,
		TLS:                  configtls.NewDefaultClientConfig(),
		MaxRequestsPerSecond: DefaultMaxRequestsPerSecond,
	}
}

// Validate checks the settings that can be checked without the environment; every error
// names the offending key.
func (c *ClientConfig) Validate() error {
	var errs []error
	if c.Endpoint != "" {
		if err := validateEndpoint(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("endpoint: %w", err))
		}
	}
	if c.Token != "" && (c.ClientID != "" || c.ClientSecret != "") {
		errs = append(errs, errors.New("token and client_id/client_secret are mutually exclusive: configure either a personal access token or OAuth machine-to-machine credentials"))
	}
	if c.ClientID != "" && c.ClientSecret == "" {
		errs = append(errs, errors.New("client_secret: required when client_id is set"))
	}
	if c.ClientSecret != "" && c.ClientID == "" {
		errs = append(errs, errors.New("client_id: required when client_secret is set"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: must not be negative, got %s", c.Timeout))
	}
	if !(c.MaxRequestsPerSecond > 0) {
		errs = append(errs, fmt.Errorf("max_requests_per_second: must be greater than 0, got %v", c.MaxRequestsPerSecond))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("tls: %w", err))
	}
	return errors.Join(errs...)
}

func validateEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		// url.Parse errors quote the input, which could hold credentials.
		return errors.New("not a valid URL")
	}
	if u.User != nil {
		return errors.New("must not contain credentials; use token or client_id/client_secret")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("scheme must be https (or http for a local simulator), got %q", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("missing host in %q", endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("must be the workspace root URL without a path, got %q", endpoint)
	}
	return nil
}
