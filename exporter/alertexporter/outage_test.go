// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// ledger is a webhook that is down until told otherwise and counts, per
// dedup key, the alerts it accepted.
type ledger struct {
	server   *httptest.Server
	up       atomic.Bool
	hangUp   bool // while down: drop the connection instead of answering 503
	mu       sync.Mutex
	accepted map[string]int
	refused  int
}

func newLedger(t *testing.T, hangUp bool) *ledger {
	l := &ledger{accepted: map[string]int{}, hangUp: hangUp}
	l.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !l.up.Load() {
			l.mu.Lock()
			l.refused++
			l.mu.Unlock()
			if l.hangUp {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var doc struct {
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		l.mu.Lock()
		l.accepted[fmt.Sprint(doc.Attributes["alert.dedup_key"])]++
		l.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(l.server.Close)
	return l
}

func (l *ledger) snapshot() (accepted map[string]int, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.accepted))
	for k, v := range l.accepted {
		out[k] = v
	}
	return out, l.refused
}

// outageConfig is a webhook-only config with the sending queue on and
// fast retries.
func outageConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Webhook = configoptional.Some(WebhookConfig{ClientConfig: defaultClientConfig(endpoint)})
	q := exporterhelper.NewDefaultQueueConfig()
	q.NumConsumers = 2
	cfg.QueueConfig = configoptional.Some(q)
	cfg.RetryConfig.InitialInterval = 20 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 100 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = time.Minute
	return cfg
}

// outageBatches are n batches of two findings each, all in distinct groups,
// so every finding must arrive exactly once.
func outageBatches(n int) ([]func() []findingSpec, []string) {
	var batches []func() []findingSpec
	var keys []string
	for i := range n {
		specs := []findingSpec{
			{user: fmt.Sprintf("user%02d-a@corp.com", i), dedupKey: fmt.Sprintf("key-%02d-a", i)},
			{user: fmt.Sprintf("user%02d-b@corp.com", i), dedupKey: fmt.Sprintf("key-%02d-b", i)},
		}
		keys = append(keys, specs[0].dedupKey, specs[1].dedupKey)
		batches = append(batches, func() []findingSpec { return specs })
	}
	sort.Strings(keys)
	return batches, keys
}

func exactlyOnce(keys []string) map[string]int {
	want := make(map[string]int, len(keys))
	for _, k := range keys {
		want[k] = 1
	}
	return want
}

func TestOutageThenRecoveryDeliversEveryAlertOnce(t *testing.T) {
	l := newLedger(t, false)
	exp, err := NewFactory().CreateLogs(context.Background(), settingsForTest(), outageConfig(l.server.URL))
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), hostWithExtensions(nil)))

	batches, keys := outageBatches(10)
	for _, b := range batches {
		require.NoError(t, exp.ConsumeLogs(context.Background(), findingsLogs(b()...)), "the queue accepts while the target is down")
	}
	require.Eventually(t, func() bool {
		_, refused := l.snapshot()
		return refused >= 10
	}, 10*time.Second, 10*time.Millisecond, "the exporter keeps retrying during the outage")

	l.up.Store(true)
	require.Eventually(t, func() bool {
		accepted, _ := l.snapshot()
		return len(accepted) == len(keys)
	}, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, exp.Shutdown(context.Background()))

	accepted, _ := l.snapshot()
	assert.Equal(t, exactlyOnce(keys), accepted)
}

func TestOutageAcrossRestartWithPersistentQueue(t *testing.T) {
	l := newLedger(t, true) // down = connection dropped, a network error
	storageID := component.MustNewIDWithName("file_storage", "alerts")
	store := newMemStorage()
	host := hostWithExtensions(map[component.ID]component.Component{storageID: store})
	cfg := outageConfig(l.server.URL)
	cfg.QueueConfig.Get().StorageID = &storageID

	// The queue's storage is keyed by the exporter id, so both runs use one.
	set := settingsForTest()
	set.ID = component.MustNewIDWithName("alert", "siem")

	batches, keys := outageBatches(5)
	first, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, first.Start(context.Background(), host))
	for _, b := range batches {
		require.NoError(t, first.ConsumeLogs(context.Background(), findingsLogs(b()...)))
	}
	require.Eventually(t, func() bool {
		_, refused := l.snapshot()
		return refused >= 5
	}, 10*time.Second, 10*time.Millisecond)
	// The collector stops in the middle of the outage.
	require.NoError(t, first.Shutdown(context.Background()))
	accepted, _ := l.snapshot()
	require.Empty(t, accepted)

	// It comes back, and so does the target: the queued alerts go out once.
	l.up.Store(true)
	second, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, second.Start(context.Background(), host))
	require.Eventually(t, func() bool {
		accepted, _ := l.snapshot()
		return len(accepted) == len(keys)
	}, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, second.Shutdown(context.Background()))

	accepted, _ = l.snapshot()
	assert.Equal(t, exactlyOnce(keys), accepted)
}

// extensionsHost is a component.Host with the given extensions.
type extensionsHost struct {
	extensions map[component.ID]component.Component
}

func hostWithExtensions(ext map[component.ID]component.Component) component.Host {
	return extensionsHost{extensions: ext}
}

func (h extensionsHost) GetExtensions() map[component.ID]component.Component { return h.extensions }

// memStorage is an in-memory storage extension whose data outlives the
// clients, like file_storage's files outlive a collector restart.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string]map[string][]byte
}

var _ storage.Extension = (*memStorage)(nil)

func newMemStorage() *memStorage {
	return &memStorage{data: map[string]map[string][]byte{}}
}

func (s *memStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := kind.String() + "/" + id.String() + "/" + name
	if s.data[ns] == nil {
		s.data[ns] = map[string][]byte{}
	}
	return &memClient{s: s, ns: ns}, nil
}

type memClient struct {
	s  *memStorage
	ns string
}

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	v, ok := c.s.data[c.ns][key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

func (c *memClient) Set(_ context.Context, key string, value []byte) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.data[c.ns][key] = append([]byte(nil), value...)
	return nil
}

func (c *memClient) Delete(_ context.Context, key string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	delete(c.s.data[c.ns], key)
	return nil
}

func (c *memClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			v, ok := c.s.data[c.ns][op.Key]
			if ok {
				op.Value = append([]byte(nil), v...)
			} else {
				op.Value = nil
			}
		case storage.Set:
			c.s.data[c.ns][op.Key] = append([]byte(nil), op.Value...)
		case storage.Delete:
			delete(c.s.data[c.ns], op.Key)
		}
	}
	return nil
}

func (*memClient) Close(context.Context) error { return nil }

func TestOutageOfOneTargetDoesNotDuplicateOthers(t *testing.T) {
	l := newLedger(t, false)
	am := newFakeTarget(t)
	cfg := outageConfig(l.server.URL)
	cfg.Alertmanager = configoptional.Some(AlertmanagerConfig{ClientConfig: defaultClientConfig(am.URL)})
	exp, err := NewFactory().CreateLogs(context.Background(), settingsForTest(), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), hostWithExtensions(nil)))

	batches, keys := outageBatches(4)
	for _, b := range batches {
		require.NoError(t, exp.ConsumeLogs(context.Background(), findingsLogs(b()...)))
	}
	require.Eventually(t, func() bool {
		_, refused := l.snapshot()
		return refused >= 8
	}, 10*time.Second, 10*time.Millisecond)
	l.up.Store(true)
	require.Eventually(t, func() bool {
		accepted, _ := l.snapshot()
		return len(accepted) == len(keys)
	}, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, exp.Shutdown(context.Background()))

	accepted, _ := l.snapshot()
	assert.Equal(t, exactlyOnce(keys), accepted)
	// Alertmanager was up all along: it got each batch once, although the
	// webhook's batches were retried many times.
	assert.Equal(t, len(batches), am.count())
	users := map[string]int{}
	for _, r := range am.received() {
		var alerts []postableAlert
		require.NoError(t, json.Unmarshal(r.Body, &alerts))
		for _, a := range alerts {
			users[a.Labels["user"]]++
		}
	}
	assert.Len(t, users, len(keys))
	for u, n := range users {
		assert.Equal(t, 1, n, u)
	}
}
