package simulator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is a kind of failure the server can serve instead of (or around) a real answer.
type FaultKind string

// Fault kinds.
const (
	Fault429           FaultKind = "429"             // 429 REQUEST_LIMIT_EXCEEDED without Retry-After
	Fault429RetryAfter FaultKind = "429-retry-after" // 429 with a Retry-After header
	Fault500           FaultKind = "500"             // 500 INTERNAL_ERROR
	Fault503           FaultKind = "503"             // 503 TEMPORARILY_UNAVAILABLE
	FaultSlow          FaultKind = "slow"            // the real answer, after Delay
	FaultTruncated     FaultKind = "truncated"       // the real answer cut in half (status 200)
	FaultMalformed     FaultKind = "malformed"       // a 200 whose body is not JSON
	FaultExpiredToken  FaultKind = "expired-token"   // 401 as if the token had expired
)

var faultKinds = []FaultKind{Fault429, Fault429RetryAfter, Fault500, Fault503, FaultSlow, FaultTruncated, FaultMalformed, FaultExpiredToken}

// FaultRule makes matching requests fail. A request matches when its path starts with Path
// ("*" or "" = every API path). The rule fires for the first Count matching requests (0 = all),
// or, with Every > 0, for every Every-th matching request.
type FaultRule struct {
	Path       string        `yaml:"path" json:"path"`
	Kind       FaultKind     `yaml:"kind" json:"kind"`
	Count      int           `yaml:"count" json:"count,omitempty"`
	Every      int           `yaml:"every" json:"every,omitempty"`
	RetryAfter time.Duration `yaml:"retry_after" json:"retry_after,omitempty"`
	Delay      time.Duration `yaml:"delay" json:"delay,omitempty"`
}

func (f FaultRule) validate() error {
	if !contains(faultKinds, f.Kind) {
		return fmt.Errorf("kind: unknown fault kind %q", f.Kind)
	}
	if f.Count < 0 || f.Every < 0 {
		return errors.New("count and every must be >= 0")
	}
	return nil
}

// ParseFaultRule parses the flag form "path=/api/2.1/clusters/list,kind=429,count=3,retry_after=2s".
func ParseFaultRule(s string) (FaultRule, error) {
	var f FaultRule
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return f, fmt.Errorf("fault %q: expected key=value", kv)
		}
		var err error
		switch k {
		case "path":
			f.Path = v
		case "kind":
			f.Kind = FaultKind(v)
		case "count":
			f.Count, err = strconv.Atoi(v)
		case "every":
			f.Every, err = strconv.Atoi(v)
		case "retry_after":
			f.RetryAfter, err = time.ParseDuration(v)
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		default:
			return f, fmt.Errorf("fault %q: unknown key %q", s, k)
		}
		if err != nil {
			return f, fmt.Errorf("fault %q: %s: %w", s, k, err)
		}
	}
	if f.Kind == "" {
		return f, fmt.Errorf("fault %q: kind is required", s)
	}
	return f, f.validate()
}

// Stats counts what the server served. Keys of the maps are sorted when encoded.
type Stats struct {
	Requests         map[string]int64 `json:"requests"` // per route
	Responses        map[string]int64 `json:"responses"`
	Faults           map[string]int64 `json:"faults"` // per fault kind
	Unauthorized     int64            `json:"unauthorized"`
	TokensIssued     int64            `json:"tokens_issued"`
	Statements       int64            `json:"statements"`
	StatementsFailed int64            `json:"statements_failed"`
	Cancellations    int64            `json:"cancellations"`
	ChunksServed     int64            `json:"chunks_served"`
}

type faultState struct {
	mu    sync.Mutex
	rules []FaultRule
	seen  []int
	stats Stats
}

func newFaultState(rules []FaultRule) *faultState {
	f := &faultState{stats: Stats{Requests: map[string]int64{}, Responses: map[string]int64{}, Faults: map[string]int64{}}}
	f.set(rules)
	return f
}

func (f *faultState) set(rules []FaultRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append([]FaultRule(nil), rules...)
	f.seen = make([]int, len(rules))
}

// match returns the fault to serve for path, if any, and counts it.
func (f *faultState) match(path string) (FaultRule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.Path != "" && r.Path != "*" && !strings.HasPrefix(path, r.Path) {
			continue
		}
		f.seen[i]++
		n := f.seen[i]
		fire := (r.Every > 0 && n%r.Every == 0) || (r.Every == 0 && (r.Count == 0 || n <= r.Count))
		if fire {
			f.stats.Faults[string(r.Kind)]++
			return r, true
		}
	}
	return FaultRule{}, false
}

func (f *faultState) count(fn func(s *Stats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.stats)
}

func (f *faultState) snapshot() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := f.stats
	cp.Requests, cp.Responses, cp.Faults = copyMap(f.stats.Requests), copyMap(f.stats.Responses), copyMap(f.stats.Faults)
	return cp
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
