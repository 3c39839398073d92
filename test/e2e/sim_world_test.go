//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	sim "github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

// The receiver tests run the simulator in-process through its Go API: they decide when
// simulated time moves and when delivery objects are written, which makes "what happened while
// the collector was down" exact.

// simWorld builds a small workspace whose timeline ends at the wall clock's minute: the
// receivers compare event times with the wall clock (lookbacks, retention), so the events
// must lie in the recent past.
func simWorld(t *testing.T, length time.Duration, tweak func(*sim.Scenario)) *sim.World {
	t.Helper()
	now := time.Now().UTC()
	return simWorldFrom(t, now.Add(-length).Truncate(time.Minute), length, tweak)
}

// simWorldFrom builds a workspace whose timeline is [from, from+length).
func simWorldFrom(t *testing.T, from time.Time, length time.Duration, tweak func(*sim.Scenario)) *sim.World {
	t.Helper()
	sc := sim.DefaultScenario()
	sc.Users = 25
	sc.Rate = 0.12
	sc.Delivery.LateFraction = 0.1
	sc.Delivery.LateBy = sim.Duration(20 * time.Minute)
	// Users keep the hours of a weekday afternoon at the timeline's end, whenever the test runs:
	// at night or at a weekend the timeline was nearly silent (TestAuditSystemTableRestart
	// found no event in its last 25 minutes at 03:00 UTC).
	sc.ActivityShift = sim.Duration(sim.BusyShift(from.Add(length)))
	if tweak != nil {
		tweak(sc)
	}
	w, err := sim.Build(sc, sim.Options{
		Start:    from.UTC().Format(time.RFC3339),
		Duration: length,
		Now:      time.Now().UTC(),
	})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	if len(w.Events) == 0 {
		t.Fatal("the simulator generated no audit events")
	}
	return w
}

// simClock is the simulated "now" as the test drives it: stopped at an instant, or running
// live (the simulator's LiveClock, speedup times faster than the wall clock) up to an instant
// where it stops, so what is visible at the end of a step is exact.
type simClock struct {
	mu  sync.Mutex
	now func() time.Time
}

func newSimClock(at time.Time) *simClock {
	c := &simClock{}
	c.Set(at)
	return c
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

// Set stops the clock at an instant.
func (c *simClock) Set(at time.Time) {
	c.mu.Lock()
	c.now = func() time.Time { return at }
	c.mu.Unlock()
}

// Run lets the clock run from its current instant to `until` at speedup, where it stops.
func (c *simClock) Run(until time.Time, speedup float64) {
	c.mu.Lock()
	c.now = sim.LiveClock(c.now(), until, speedup, time.Now)
	c.mu.Unlock()
}

// simAPI is the simulator's REST/SQL API served on a loopback port.
type simAPI struct {
	*sim.Server
	url string
}

func serveSimAPI(t *testing.T, w *sim.World, opts sim.ServerOptions) *simAPI {
	t.Helper()
	srv := sim.NewServer(w, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &simAPI{Server: srv, url: hs.URL}
}

func (s *simAPI) warehouseID(t *testing.T) string {
	t.Helper()
	ws := s.World().Workspace.Warehouses
	if len(ws) == 0 {
		t.Fatal("the simulator has no SQL warehouse")
	}
	return ws[0].ID
}

// requestsServed is the total of the simulator's per-route request counts.
func (s *simAPI) requestsServed() (int64, map[string]int64) {
	st := s.Stats()
	var n int64
	for _, c := range st.Requests {
		n += c
	}
	return n, st.Requests
}

// recordingStore is an ObjectStore that remembers what was written, so a test knows the exact
// content of every object and which objects were rewritten.
type recordingStore struct {
	inner sim.ObjectStore

	mu        sync.Mutex
	objects   map[string][]byte
	rewritten map[string]bool
}

func newRecordingStore(inner sim.ObjectStore) *recordingStore {
	return &recordingStore{inner: inner, objects: map[string][]byte{}, rewritten: map[string]bool{}}
}

func (r *recordingStore) Put(ctx context.Context, key string, data []byte) error {
	if err := r.inner.Put(ctx, key, data); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.objects[key]; ok {
		if !bytes.HasPrefix(data, old) {
			// the simulator only ever appends: anything else would make the test meaningless
			panic("simulator rewrote " + key + " without keeping its old lines")
		}
		r.rewritten[key] = true
	}
	r.objects[key] = append([]byte(nil), data...)
	return nil
}

// snapshot returns a copy of every object's current content, by key.
func (r *recordingStore) snapshot() map[string][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]byte, len(r.objects))
	for k, v := range r.objects {
		out[k] = v
	}
	return out
}

// rewrites returns the keys of objects written more than once, sorted, and clears the list.
func (r *recordingStore) takeRewrites() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for k := range r.rewritten {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r.rewritten = map[string]bool{}
	return keys
}

// deliverUpTo writes the delivery objects due by upTo and fails the test on an error.
func deliverUpTo(t *testing.T, d interface {
	Deliver(context.Context, time.Time) (int, error)
}, upTo time.Time) int {
	t.Helper()
	n, err := d.Deliver(context.Background(), upTo)
	if err != nil {
		t.Fatalf("simulator delivery: %v", err)
	}
	return n
}

// stagedDirStore writes objects under root the way a careful uploader does: the content is
// written in a staging directory outside root and renamed into place, so a collector polling
// root never lists a half-written or temporary file. (The simulator's DirStore puts its
// temporary file next to the object, where a poller may list it.)
type stagedDirStore struct{ root, staging string }

func (d stagedDirStore) Put(_ context.Context, key string, data []byte) error {
	path := filepath.Join(d.root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.staging, "object-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return errors.Join(werr, cerr)
	}
	return os.Rename(tmp.Name(), path)
}
