package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const scenario = `
name: cmd-test
seed: 5
start: "2026-01-05T06:00:00Z"
duration: 6h
users: 8
rate: 0.02
attacks:
  - {rule: DBX-W05, at: 2h}
  - {rule: DBX-S03, at: 3h}
`

func writeScenario(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(p, []byte(scenario), 0o644))
	return p
}

func countFiles(t *testing.T, root string) int {
	t.Helper()
	n := 0
	_ = filepath.Walk(root, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(info.Name(), ".json") {
			n++
		}
		return nil
	})
	return n
}

func TestBackfillWritesEverything(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	err := run(context.Background(), []string{"--scenario", writeScenario(t), "--delivery-url", "file://" + filepath.Join(dir, "d"),
		"--azure-dir", filepath.Join(dir, "az"), "--ground-truth", filepath.Join(dir, "truth.json"), "--seed", "9"}, &out, time.Now)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "2 attacks")
	assert.Positive(t, countFiles(t, filepath.Join(dir, "d")))
	assert.Positive(t, countFiles(t, filepath.Join(dir, "az")))
	var truth struct {
		Seed         int64 `json:"seed"`
		Expectations []struct {
			Rule     string `json:"rule"`
			Identity string `json:"identity"`
		} `json:"expectations"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &truth))
	assert.Equal(t, int64(9), truth.Seed, "--seed overrides the scenario")
	require.Len(t, truth.Expectations, 2)
	assert.Equal(t, "DBX-W05", truth.Expectations[0].Rule)
	assert.Contains(t, truth.Expectations[0].Identity, "@example.com")
}

func TestServeAndShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--scenario", writeScenario(t), "--listen", "127.0.0.1:0", "--token", "dapi-test",
			"--fault", "path=/api/2.0/sql/warehouses,kind=503,count=1"}, pw, time.Now)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			addr = a
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NotEmpty(t, addr)
	get := func(path, token string) int {
		req, _ := http.NewRequest(http.MethodGet, addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get("/api/2.1/clusters/list", "dapi-test"))
	assert.Equal(t, http.StatusUnauthorized, get("/api/2.1/clusters/list", "dapi-other"))
	assert.Equal(t, http.StatusServiceUnavailable, get("/api/2.0/sql/warehouses", "dapi-test"))
	assert.Equal(t, http.StatusOK, get("/api/2.0/sql/warehouses", "dapi-test"))
	http.DefaultClient.CloseIdleConnections()
	cancel()
	require.NoError(t, <-done)
}

// fakeWall is a wall clock the test moves by hand.
type fakeWall struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeWall) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeWall) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestLiveModeDeliversAsTimePasses(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	wall := &fakeWall{t: time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--scenario", writeScenario(t), "--speedup", "60", "--tick", "10ms", "--delivery-dir", dir}, pw, wall.now)
		pw.Close()
	}()
	// The live clock starts from the wall clock once the world is built, which takes seconds
	// under -race on a loaded machine: time moved before then would not count.
	sc := bufio.NewScanner(pr)
	require.True(t, sc.Scan(), "the simulator reports the world it built")
	require.Contains(t, sc.Text(), "generated")
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	time.Sleep(200 * time.Millisecond)
	assert.Zero(t, countFiles(t, dir), "nothing is delivered before its time")
	// Each poll moves the wall clock a minute (an hour of simulated time at 60x), so the
	// deliveries follow the time that passed, however late the live clock started.
	require.Eventually(t, func() bool {
		wall.advance(time.Minute)
		return countFiles(t, dir) > 0
	}, 10*time.Second, 20*time.Millisecond)
	mid := countFiles(t, dir)
	require.Eventually(t, func() bool {
		wall.advance(time.Minute)
		return countFiles(t, dir) > mid
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--fault", "kind=teapot"}, "unknown fault kind"},
		{[]string{"--delivery-dir", "a", "--delivery-url", "file:///b"}, "mutually exclusive"},
		{[]string{"--speedup", "-1"}, "--speedup"},
		{[]string{"--duration", "soon"}, "--duration"},
		{[]string{"--scenario", "/does/not/exist.yaml"}, "no such file"},
		{[]string{"--delivery-url", "ftp://host/x"}, "delivery url"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		err := run(context.Background(), tc.args, io.Discard, time.Now)
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.msg)
	}
}
