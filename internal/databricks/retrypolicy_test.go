package databricks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"2", 2 * time.Second, true},
		{" 0 ", 0, true},
		{"Thu, 26 Nov 2026 14:00:05 GMT", 5 * time.Second, true},
		{"Thu, 26 Nov 2026 13:59:00 GMT", 0, true},
		{"-3", 0, false},
		{"", 0, false},
		{"in a bit", 0, false},
		{"1.5", 0, false},
		{"99999999999999", 365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.value, now)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBackoffGrowsWithJitterAndCaps(t *testing.T) {
	p := RetryPolicy{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2}
	tests := []struct {
		retry    int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second},
		{50, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := p.backoff(tt.retry)
			assert.GreaterOrEqual(t, d, tt.min, "retry %d", tt.retry)
			assert.LessOrEqual(t, d, tt.max, "retry %d", tt.retry)
			seen[d] = true
		}
		assert.Greater(t, len(seen), 1, "retry %d has jitter", tt.retry)
	}
}
