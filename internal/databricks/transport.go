package databricks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// maxResponseBytes guards memory: an INLINE statement result is at most 25 MiB, every other
// answer is far smaller.
const maxResponseBytes = 64 << 20

// retryMode tells the transport how a request may be retried. Requests the SDK makes on
// its own (OAuth token, OIDC discovery) carry no mode: the SDK's token source already
// retries them, so the transport sends them exactly once per SDK attempt.
type retryMode int

const (
	retryNever retryMode = iota
	// retryIdempotent: reads; retried on throttling, 5xx and network errors.
	retryIdempotent
	// retryUnlessProcessed: requests with side effects (statement submission); retried
	// only when the server said it did not accept the request (429/503) or the
	// connection could not be opened.
	retryUnlessProcessed
)

type retryModeKey struct{}

func withRetryMode(ctx context.Context, mode retryMode) context.Context {
	return context.WithValue(ctx, retryModeKey{}, mode)
}

// ErrorClass groups failed attempts for self-telemetry. Three values keep a metric attribute
// bounded while still telling a request or credential problem (4xx) from a flapping server
// (5xx) and from the network.
type ErrorClass int

// Error classes, in the order of Stats.ErrorsByClass and Stats.RetriesByClass.
const (
	ErrorClass4xx     ErrorClass = iota // HTTP status 400-499
	ErrorClass5xx                       // HTTP status >= 500
	ErrorClassNetwork                   // no complete answer: connection, timeout, body cut off
	NumErrorClasses   = 3
)

// String is the value of the "class" attribute of the receivers' api_errors/api_retries.
func (c ErrorClass) String() string {
	switch c {
	case ErrorClass4xx:
		return "4xx"
	case ErrorClass5xx:
		return "5xx"
	case ErrorClassNetwork:
		return "network"
	}
	return "unknown"
}

// errorClassOf classifies a failed attempt; ok is false for a successful one.
func errorClassOf(status int, err error) (ErrorClass, bool) {
	switch {
	case err != nil:
		return ErrorClassNetwork, true
	case status >= 500:
		return ErrorClass5xx, true
	case status >= 400:
		return ErrorClass4xx, true
	}
	return 0, false
}

// Stats are monotonic counters of the client's HTTP traffic.
type Stats struct {
	// Requests counts HTTP attempts sent, retries and OAuth token requests included.
	Requests int64
	// Errors counts attempts that failed: network errors and HTTP status >= 400.
	Errors int64
	// Throttles counts attempts answered 429 or 503.
	Throttles int64
	// Retries counts attempts that repeated an earlier failed attempt.
	Retries int64
	// ErrorsByClass splits Errors by ErrorClass; the elements add up to Errors.
	ErrorsByClass [NumErrorClasses]int64
	// RetriesByClass splits Retries by the ErrorClass of the failure each one repeated.
	RetriesByClass [NumErrorClasses]int64
}

type counters struct {
	requests, throttles atomic.Int64
	// Totals are derived from the per-class counts, so that a snapshot taken while an
	// attempt is being counted never shows a total that disagrees with its classes.
	errors, retries [NumErrorClasses]atomic.Int64
}

func (c *counters) failed(class ErrorClass) { c.errors[class].Add(1) }

func (c *counters) retried(class ErrorClass) { c.retries[class].Add(1) }

func (c *counters) snapshot() Stats {
	s := Stats{Requests: c.requests.Load(), Throttles: c.throttles.Load()}
	for i := range NumErrorClasses {
		s.ErrorsByClass[i] = c.errors[i].Load()
		s.RetriesByClass[i] = c.retries[i].Load()
		s.Errors += s.ErrorsByClass[i]
		s.Retries += s.RetriesByClass[i]
	}
	return s
}

// retryingTransport is the single place where rate limiting, per-attempt timeouts,
// Retry-After and backoff happen. It buffers every response body so that a connection
// dropped mid-body is a retryable network error instead of a decode error later.
type retryingTransport struct {
	base           http.RoundTripper
	limiter        *rate.Limiter
	policy         RetryPolicy
	attemptTimeout time.Duration
	stats          *counters
	logger         *zap.Logger
	now            func() time.Time
	warnings       retryWarnings
}

func (t *retryingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	mode, _ := ctx.Value(retryModeKey{}).(retryMode)
	body, err := drainRequestBody(req)
	if err != nil {
		return nil, err
	}
	start := t.now()
	for attempt := 1; ; attempt++ {
		resp, err := t.attempt(ctx, req, body)
		wait, retry := t.retryDecision(mode, resp, err, attempt)
		if !retry {
			return resp, err
		}
		if reason := t.budgetExceeded(ctx, start, wait); reason != "" {
			t.logger.Debug("Databricks API request not retried",
				zap.String("method", req.Method), zap.String("path", req.URL.Path),
				zap.Int("attempt", attempt), zap.String("reason", reason), describeOutcome(resp, err))
			return resp, err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		// Only failures are retried (429, 5xx, network errors), and each has a class.
		class, _ := errorClassOf(status, err)
		t.warnings.report(t.logger, t.now(), outcomeKind(status, err)+" "+req.Method+" "+req.URL.Path, req.Method, req.URL.Path, describeOutcome(resp, err))
		t.logger.Debug("Retrying Databricks API request",
			zap.String("method", req.Method), zap.String("path", req.URL.Path),
			zap.Int("attempt", attempt), zap.Duration("wait", wait), describeOutcome(resp, err))
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("giving up after %d attempt(s): %w", attempt, err)
		}
		t.stats.retried(class)
	}
}

func (t *retryingTransport) attempt(ctx context.Context, req *http.Request, body []byte) (*http.Response, error) {
	if err := t.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("client-side rate limit: %w", err)
	}
	attemptCtx, cancel := ctx, context.CancelFunc(func() {})
	if t.attemptTimeout > 0 {
		attemptCtx, cancel = context.WithTimeout(ctx, t.attemptTimeout)
	}
	defer cancel()
	r := req.Clone(attemptCtx)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	t.stats.requests.Add(1)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		t.stats.failed(ErrorClassNetwork)
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	_ = resp.Body.Close()
	if err == nil && len(data) > maxResponseBytes {
		err = fmt.Errorf("response body exceeds %d bytes", maxResponseBytes)
	}
	if err != nil {
		t.stats.failed(ErrorClassNetwork)
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	if class, failed := errorClassOf(resp.StatusCode, nil); failed {
		t.stats.failed(class)
	}
	if isThrottle(resp.StatusCode) {
		t.stats.throttles.Add(1)
	}
	return resp, nil
}

// retryDecision says whether the outcome of an attempt is worth another one and how long
// to wait first. A Retry-After the server sent wins over the computed backoff.
func (t *retryingTransport) retryDecision(mode retryMode, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if mode == retryNever {
		return 0, false
	}
	if err != nil {
		if isCertificateError(err) || (mode == retryUnlessProcessed && !isDialError(err)) {
			return 0, false
		}
		return t.policy.backoff(attempt), true
	}
	switch {
	case isThrottle(resp.StatusCode):
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.now()); ok {
			return d, true
		}
		return t.policy.backoff(attempt), true
	case mode == retryIdempotent && isRetryableServerError(resp.StatusCode):
		return t.policy.backoff(attempt), true
	}
	return 0, false
}

// budgetExceeded returns why waiting `wait` is pointless, or "" if the retry may go ahead.
func (t *retryingTransport) budgetExceeded(ctx context.Context, start time.Time, wait time.Duration) string {
	now := t.now()
	if ctx.Err() != nil {
		return "context done"
	}
	if t.policy.MaxElapsedTime > 0 && now.Add(wait).Sub(start) > t.policy.MaxElapsedTime {
		return fmt.Sprintf("retry time budget of %s would be exceeded", t.policy.MaxElapsedTime)
	}
	if deadline, ok := ctx.Deadline(); ok && now.Add(wait).After(deadline) {
		return "context deadline is sooner than the next attempt"
	}
	return ""
}

func describeOutcome(resp *http.Response, err error) zap.Field {
	if err != nil {
		return zap.NamedError("error", err)
	}
	return zap.Int("status", resp.StatusCode)
}

func isThrottle(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

func isRetryableServerError(status int) bool {
	return status >= 500 && status != http.StatusNotImplemented && status != http.StatusHTTPVersionNotSupported
}

// isDialError reports a failure to open the connection, which proves the server never
// saw the request.
func isDialError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// isCertificateError reports a TLS verification failure: a configuration problem that no
// retry can fix.
func isCertificateError(err error) bool {
	var verifyErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verifyErr) || errors.As(err, &unknownAuthority) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}

func drainRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	return body, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
