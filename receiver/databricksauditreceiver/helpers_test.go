package databricksauditreceiver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadatatest"
)

// memStorage is a storage extension keeping its data in a map that outlives its clients, so
// a test can restart a receiver "with the same storage".
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string][]byte
}

var _ storage.Extension = (*memStorage)(nil)

func newMemStorage() *memStorage { return &memStorage{data: map[string][]byte{}} }

func (m *memStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	return &memClient{s: m, prefix: kind.String() + "/" + id.String() + "/" + name + "/"}, nil
}

func (m *memStorage) value(id component.ID) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data[component.KindReceiver.String()+"/"+id.String()+"//"+checkpointKey]...)
}

type memClient struct {
	s      *memStorage
	prefix string
	closed bool
}

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	if c.closed {
		return nil, errors.New("client closed")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	v, ok := c.s.data[c.prefix+key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

func (c *memClient) Set(_ context.Context, key string, value []byte) error {
	if c.closed {
		return errors.New("client closed")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.data[c.prefix+key] = append([]byte(nil), value...)
	return nil
}

func (c *memClient) Delete(_ context.Context, key string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	delete(c.s.data, c.prefix+key)
	return nil
}

func (c *memClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		var err error
		switch op.Type {
		case storage.Get:
			op.Value, err = c.Get(ctx, op.Key)
		case storage.Set:
			err = c.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			err = c.Delete(ctx, op.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *memClient) Close(context.Context) error {
	c.closed = true
	return nil
}

// testHost offers extensions by id.
type testHost struct {
	exts map[component.ID]component.Component
}

func (h *testHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var storageID = component.MustNewID("test_storage")

func hostWith(s *memStorage) component.Host {
	return &testHost{exts: map[component.ID]component.Component{storageID: s}}
}

var _ extension.Extension = (*memStorage)(nil)

// flakyConsumer refuses the first `refusals` calls, then stores what it is given.
type flakyConsumer struct {
	mu       sync.Mutex
	refusals int
	onRefuse func()
	calls    int
	logs     []plog.Logs
}

func (f *flakyConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (f *flakyConsumer) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.refusals > 0 {
		f.refusals--
		if f.onRefuse != nil {
			f.onRefuse()
		}
		return errors.New("memory limit reached")
	}
	f.logs = append(f.logs, ld)
	return nil
}

func (f *flakyConsumer) records() []plog.LogRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return flatten(f.logs)
}

func flatten(lds []plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range lds {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

func attrStr(lr plog.LogRecord, key string) string {
	v, _ := lr.Attributes().Get(key)
	return v.AsString()
}

// sourceEnv bundles what a source needs in a unit test.
type sourceEnv struct {
	tt        *componenttest.Telemetry
	telemetry *metadata.TelemetryBuilder
	deliverer *deliverer
	logs      *observer.ObservedLogs
	logger    *zap.Logger
}

func newSourceEnv(t *testing.T, next consumer.Logs) *sourceEnv {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tt)
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	require.NoError(t, err)
	t.Cleanup(tb.Shutdown)
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "test", ReceiverCreateSettings: set})
	require.NoError(t, err)
	core, logs := observer.New(zap.DebugLevel)
	logger := zap.New(core)
	return &sourceEnv{
		tt: tt, telemetry: tb, logs: logs, logger: logger,
		deliverer: &deliverer{next: next, obs: obs, telemetry: tb, logger: logger, format: "test",
			initialBackoff: time.Millisecond, maxBackoff: 5 * time.Millisecond},
	}
}

func nopStorage() storage.Client { return storage.NewNopClient() }
