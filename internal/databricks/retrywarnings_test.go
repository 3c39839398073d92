package databricks

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestRetryWarningsOnePerKindAndInterval(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	var w retryWarnings
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 50; i++ { // a 500 storm inside one interval
		w.report(logger, t0.Add(time.Duration(i)*retryWarningInterval/100), outcomeKind(500, nil), "GET", "/api/2.1/clusters/list", zap.Int("status", 500))
	}
	w.report(logger, t0.Add(2*time.Second), outcomeKind(429, nil), "GET", "/api/2.1/clusters/list", zap.Int("status", 429))
	w.report(logger, t0.Add(3*time.Second), outcomeKind(0, assert.AnError), "GET", "/api/2.1/clusters/list", zap.Error(assert.AnError))
	w.report(logger, t0.Add(retryWarningInterval+time.Second), outcomeKind(500, nil), "GET", "/api/2.1/clusters/list", zap.Int("status", 500))
	w.report(logger, t0.Add(retryWarningInterval+2*time.Second), outcomeKind(500, nil)+" GET /api/2.2/jobs/list", "GET", "/api/2.2/jobs/list", zap.Int("status", 500))

	entries := logs.All()
	require.Len(t, entries, 5, "one line per kind, one more after the interval, one for another endpoint")
	assert.Equal(t, zapcore.WarnLevel, entries[0].Level)
	assert.Equal(t, int64(500), entries[0].ContextMap()["status"])
	assert.Equal(t, int64(0), entries[0].ContextMap()["unreported_retries_of_this_kind"])
	assert.Equal(t, int64(429), entries[1].ContextMap()["status"])
	assert.Contains(t, entries[2].ContextMap(), "error")
	assert.Equal(t, int64(500), entries[3].ContextMap()["status"])
	assert.Equal(t, int64(49), entries[3].ContextMap()["unreported_retries_of_this_kind"], "the retries held back in between are counted")
}

func TestRetryWarningsForgetQuietKinds(t *testing.T) {
	var w retryWarnings
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 1000; i++ { // one statement id per poll, each failing once
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		w.report(zap.NewNop(), at, "500 GET /api/2.0/sql/statements/"+strconv.Itoa(i), "GET", "/api/2.0/sql/statements/x", zap.Int("status", 500))
	}
	assert.LessOrEqual(t, len(w.last), 64+int(retryWarningInterval/(10*time.Second)), "kinds older than the interval are forgotten")
	assert.Len(t, w.held, len(w.last))
}
