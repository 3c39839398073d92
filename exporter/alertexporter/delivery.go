// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// maxAnswerBytes bounds how much of a target's answer is read; the
	// answer only feeds a log line.
	maxAnswerBytes = 64 << 10
	// maxLoggedAnswer is the length of the answer excerpt kept in errors.
	maxLoggedAnswer = 512
	// maxRetryAfter caps a target's Retry-After so a bogus header cannot
	// park the queue for days.
	maxRetryAfter = 10 * time.Minute
)

// deliveryError is a failed request to a target. It never holds the
// request URL's secret parts, only the status and an excerpt of the answer.
type deliveryError struct {
	Target     string
	Status     int           // 0 for transport errors
	Answer     string        // truncated response body
	RetryAfter time.Duration // from Retry-After, 0 if absent
	Permanent  bool
	Cause      error // transport error, already redacted
}

func (e *deliveryError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: %v", e.Target, e.Cause)
	}
	if e.Answer == "" {
		return fmt.Sprintf("%s: HTTP %d", e.Target, e.Status)
	}
	return fmt.Sprintf("%s: HTTP %d: %s", e.Target, e.Status, e.Answer)
}

func (e *deliveryError) Unwrap() error { return e.Cause }

// isPermanentStatus lists the answers that repeating the same request can
// never turn into a success: malformed or unprocessable payload, bad
// credentials, unknown or archived destination, payload too large.
func isPermanentStatus(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusNotFound, http.StatusGone, http.StatusRequestEntityTooLarge,
		http.StatusUnprocessableEntity:
		return true
	default:
		return false
	}
}

// postJSON sends body to endpoint and classifies the outcome. It returns
// nil on 2xx, otherwise a *deliveryError.
func postJSON(ctx context.Context, client *http.Client, target, endpoint string, body []byte, now func() time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		// Only a malformed endpoint gets here, and Validate rules that out;
		// the message would quote the URL, so it is replaced.
		return &deliveryError{Target: target, Permanent: true, Cause: errors.New("cannot build request for the configured endpoint")}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return &deliveryError{Target: target, Cause: redactError(err)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	// Drain what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &deliveryError{
		Target:     target,
		Status:     resp.StatusCode,
		Answer:     truncateRunes(strings.TrimSpace(string(answer)), maxLoggedAnswer),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now()),
		Permanent:  isPermanentStatus(resp.StatusCode),
	}
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 §10.2.3);
// anything else, or a date in the past, yields 0.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	var d time.Duration
	secs, err := strconv.ParseInt(value, 10, 64)
	if errors.Is(err, strconv.ErrRange) && secs > 0 {
		return maxRetryAfter
	}
	if err == nil {
		if secs <= 0 {
			return 0
		}
		if secs >= int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(value); err == nil {
		d = at.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
