package databricks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/httpclient"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Client is the one Databricks client both receivers use. It is safe for concurrent use.
// Build it in a component's Start and Close it in Shutdown.
type Client struct {
	api       *client.DatabricksClient
	transport *http.Transport
	stats     *counters
	logger    *zap.Logger
	polling   PollPolicy
	host      string
}

// PollPolicy paces the polling of a running SQL statement.
type PollPolicy struct {
	InitialInterval time.Duration
	MaxInterval     time.Duration
}

// DefaultPollPolicy starts fast because most system-table reads finish within the
// submission's own wait_timeout or shortly after.
func DefaultPollPolicy() PollPolicy {
	return PollPolicy{InitialInterval: 500 * time.Millisecond, MaxInterval: 5 * time.Second}
}

// Option adjusts a Client beyond ClientConfig; meant for tests and special deployments.
type Option func(*options)

type options struct {
	retry   RetryPolicy
	polling PollPolicy
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithPollPolicy replaces DefaultPollPolicy.
func WithPollPolicy(p PollPolicy) Option { return func(o *options) { o.polling = p } }

// New builds the client. Unset keys fall back to the SDK's environment variables
// (DATABRICKS_HOST, DATABRICKS_TOKEN, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET, ...);
// ~/.databrickscfg is deliberately not read, a collector should not depend on a home
// directory. New does no network I/O: credentials are resolved on the first request.
func New(cfg ClientConfig, logger *zap.Logger, opts ...Option) (*Client, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{retry: DefaultRetryPolicy(), polling: DefaultPollPolicy()}
	for _, opt := range opts {
		opt(&o)
	}
	tlsCfg, err := cfg.TLS.LoadTLSConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	if tlsCfg != nil {
		base.TLSClientConfig = tlsCfg
	}
	stats := &counters{}
	burst := int(math.Max(1, math.Floor(cfg.MaxRequestsPerSecond)))
	transport := &retryingTransport{
		base:           base,
		limiter:        rate.NewLimiter(rate.Limit(cfg.MaxRequestsPerSecond), burst),
		policy:         o.retry,
		attemptTimeout: cfg.Timeout,
		stats:          stats,
		logger:         logger,
		now:            time.Now,
	}

	sdkCfg := &config.Config{
		Host:         cfg.Endpoint,
		Token:        string(cfg.Token),
		ClientID:     cfg.ClientID,
		ClientSecret: string(cfg.ClientSecret),
		AccountID:    cfg.AccountID,
		AuthType:     authType(cfg),
		// Environment variables only; see the doc comment.
		Loaders:       []config.Loader{config.ConfigAttributes},
		HTTPTransport: transport,
		// The SDK's token source retries token requests (honouring Retry-After); a
		// one-second budget keeps its inner HTTP client to one attempt per try.
		RetryTimeoutSeconds: 1,
		// Our transport enforces the per-attempt timeout; the SDK's inactivity timer must
		// not cut a request short while the transport waits for a Retry-After.
		HTTPTimeoutSeconds: sdkInactivityTimeoutSeconds(cfg.Timeout, o.retry),
		// Synchronous refresh: no background goroutine outlives a call.
		DisableAsyncTokenRefresh: true,
		// Host metadata discovery (/.well-known/databricks-config) is skipped so that New
		// does no I/O; OAuth endpoints are discovered under the workspace host instead.
		HostMetadataResolver: func(context.Context, string) (*config.HostMetadata, error) { return nil, nil },
	}
	httpCfg, err := config.HTTPClientConfigFromConfig(sdkCfg)
	if err != nil {
		return nil, fmt.Errorf("databricks configuration: %w", err)
	}
	if sdkCfg.Host == "" {
		return nil, errors.New("endpoint: not set, and DATABRICKS_HOST is empty")
	}
	// One retry layer only: the transport above. The SDK client makes exactly one
	// attempt (a retry budget of 1ns ends before its first backoff) and its own limiter
	// is lifted because the transport's limiter also covers retries and token requests.
	httpCfg.RetryTimeout = time.Nanosecond
	httpCfg.ErrorRetriable = func(context.Context, error) bool { return false }
	httpCfg.TransientErrors = nil
	httpCfg.RateLimitPerSecond = math.MaxInt32
	api, err := client.NewWithClient(sdkCfg, httpclient.NewApiClient(httpCfg))
	if err != nil {
		return nil, fmt.Errorf("databricks configuration: %w", err)
	}
	return &Client{api: api, transport: base, stats: stats, logger: logger, polling: o.polling, host: sdkCfg.CanonicalHostName()}, nil
}

func authType(cfg ClientConfig) string {
	switch {
	case cfg.Token != "":
		return "pat"
	case cfg.ClientID != "":
		return "oauth-m2m"
	default:
		return "" // let the SDK pick from the environment
	}
}

func sdkInactivityTimeoutSeconds(attempt time.Duration, p RetryPolicy) int {
	total := attempt + p.MaxElapsedTime + time.Minute
	return int(total / time.Second)
}

// Stats returns the monotonic traffic counters; safe for concurrent use.
func (c *Client) Stats() Stats { return c.stats.snapshot() }

// Close releases idle connections; the Client must not be used afterwards.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Host returns the resolved workspace URL (after environment fallback), e.g. for the
// databricks.workspace.url resource attribute.
func (c *Client) Host() string { return c.host }

// call performs one API request through the SDK (auth, user agent) and decodes the JSON
// answer itself, so that a malformed body yields a short error naming the endpoint rather
// than the SDK's request dump. query is sent as the query string; body as JSON.
func (c *Client) call(ctx context.Context, mode retryMode, method, path string, query map[string]any, body, out any) error {
	headers := map[string]string{"Accept": "application/json"}
	if body != nil {
		headers["Content-Type"] = "application/json"
	}
	if id := c.api.Config.WorkspaceID; id != "" {
		headers["X-Databricks-Workspace-Id"] = id
	}
	if err := c.authenticate(); err != nil {
		return &EndpointError{Method: method, Path: path, Err: err}
	}
	var raw []byte
	err := c.api.Do(withRetryMode(ctx, mode), method, path, headers, query, body, &raw)
	if err != nil {
		return &EndpointError{Method: method, Path: path, Err: contextCause(ctx, err)}
	}
	if out == nil {
		return nil
	}
	return decodeBody(method, path, raw, out)
}

// decodeBody decodes an API answer into out; it is the one place a response body is parsed,
// which the fuzz tests call directly.
func decodeBody(method, path string, raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return &EndpointError{Method: method, Path: path, Err: fmt.Errorf("malformed JSON response (%d bytes): %w", len(raw), err)}
	}
	return nil
}

// contextCause makes a failure caused by the end of ctx unwrap to context.Canceled or
// context.DeadlineExceeded even when a layer below reported it in its own words: the SDK's
// limiter refuses a request whose deadline is due ("rate: Wait(n=1) would exceed context
// deadline") a moment before ctx's own timer marks it done, and callers tell a timeout from
// an API failure with errors.Is.
func contextCause(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// authenticate resolves credentials (and fetches or refreshes an OAuth token) before the
// request is handed to the SDK: when the SDK's own auth step fails it leaves a timer
// goroutine running until its inactivity timeout, which a collector must not leak on every
// scrape while credentials are wrong.
func (c *Client) authenticate() error {
	probe, err := http.NewRequest(http.MethodGet, "http://authentication.invalid/", nil)
	if err != nil {
		return err
	}
	return c.api.Config.Authenticate(probe)
}

// EndpointError names the API endpoint a failure came from. Use errors.As with
// *apierr.APIError on it to inspect the Databricks error code.
type EndpointError struct {
	Method, Path string
	Err          error
}

func (e *EndpointError) Error() string {
	var apiErr *apierr.APIError
	if errors.As(e.Err, &apiErr) {
		status := fmt.Sprintf("HTTP %d", apiErr.StatusCode)
		if apiErr.ErrorCode != "" {
			status += " " + apiErr.ErrorCode
		}
		return e.Method + " " + e.Path + ": " + status + ": " + apiErr.Message
	}
	return e.Method + " " + e.Path + ": " + e.Err.Error()
}

func (e *EndpointError) Unwrap() error { return e.Err }

// IsThrottled reports whether err is a 429/503 answer that outlasted the retry budget.
func IsThrottled(err error) bool {
	var apiErr *apierr.APIError
	return errors.As(err, &apiErr) && isThrottle(apiErr.StatusCode)
}
