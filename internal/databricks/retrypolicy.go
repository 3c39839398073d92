package databricks

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds how the client retries one HTTP request. It is the only retry layer
// for API calls: the SDK's own retries are switched off (see New), so the two never multiply.
type RetryPolicy struct {
	// InitialInterval is the first backoff when the server gave no Retry-After.
	InitialInterval time.Duration
	// MaxInterval caps one backoff step (not a Retry-After the server asked for).
	MaxInterval time.Duration
	// Multiplier grows the backoff after each failed attempt.
	Multiplier float64
	// MaxElapsedTime bounds the time spent on one request including all retries. A
	// Retry-After that would end beyond it makes the client give up at once.
	MaxElapsedTime time.Duration
}

// DefaultRetryPolicy is used unless WithRetryPolicy says otherwise.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		InitialInterval: time.Second,
		MaxInterval:     30 * time.Second,
		Multiplier:      2,
		MaxElapsedTime:  2 * time.Minute,
	}
}

// backoff returns the jittered wait before retry number `retry` (1-based): half of the
// exponential step is fixed and half random, so concurrent clients spread out but never
// hammer the server sooner than half the step.
func (p RetryPolicy) backoff(retry int) time.Duration {
	step := float64(p.InitialInterval)
	for i := 1; i < retry; i++ {
		step *= p.Multiplier
		if p.MaxInterval > 0 && step >= float64(p.MaxInterval) {
			step = float64(p.MaxInterval)
			break
		}
	}
	if p.MaxInterval > 0 && step > float64(p.MaxInterval) {
		step = float64(p.MaxInterval)
	}
	half := step / 2
	return time.Duration(half + rand.Float64()*half)
}

// parseRetryAfter reads a Retry-After header given either as delay-seconds or as an
// HTTP-date (RFC 9110 §10.2.3). ok is false when the header is absent or unusable.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Cap absurd values before converting so the multiplication cannot overflow.
		const maxSeconds = int64(365 * 24 * time.Hour / time.Second)
		if secs > maxSeconds {
			secs = maxSeconds
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(value); err == nil {
		if d := at.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}
