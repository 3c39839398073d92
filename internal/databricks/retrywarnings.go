package databricks

import (
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// retryWarningInterval bounds how often one kind of retried failure is reported: a storm of
// 500s that the retries absorb must still be visible to an operator, but as one line per
// kind and interval, never one per request.
const retryWarningInterval = 30 * time.Second

// retryWarnings logs the first retried failure of each kind (HTTP status or "network", and
// the endpoint: a storm on one API must not hide one on another) at WARN and then at most
// once per retryWarningInterval, with the number of retries it did not report in between.
type retryWarnings struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func outcomeKind(status int, err error) string {
	if err != nil {
		return "network"
	}
	return strconv.Itoa(status)
}

func (w *retryWarnings) report(logger *zap.Logger, now time.Time, kind, method, path string, outcome zap.Field) {
	w.mu.Lock()
	if w.last == nil {
		w.last, w.held = map[string]time.Time{}, map[string]int{}
	}
	if last, seen := w.last[kind]; seen && now.Sub(last) < retryWarningInterval {
		w.held[kind]++
		w.mu.Unlock()
		return
	}
	held := w.held[kind]
	w.forgetQuietKinds(now)
	w.last[kind], w.held[kind] = now, 0
	w.mu.Unlock()
	logger.Warn("Databricks API request failed; retrying with backoff",
		zap.String("method", method), zap.String("path", path), outcome,
		zap.Int("unreported_retries_of_this_kind", held),
		zap.Duration("reported_at_most_every", retryWarningInterval))
}

// forgetQuietKinds drops kinds whose interval has passed, so that paths with ids in them
// (statement polls) cannot grow the maps without bound. Called with mu held.
func (w *retryWarnings) forgetQuietKinds(now time.Time) {
	if len(w.last) < 64 {
		return
	}
	for kind, last := range w.last {
		if now.Sub(last) >= retryWarningInterval {
			delete(w.last, kind)
			delete(w.held, kind)
		}
	}
}
