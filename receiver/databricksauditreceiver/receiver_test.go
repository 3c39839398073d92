package databricksauditreceiver

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/otelcol-databricks/otelcol-databricks/internal/databricks"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadata"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadatatest"
)

// startReceiver creates and starts a receiver on a shared bucket.
func startReceiver(t *testing.T, cfg *Config, bucket *blob.Bucket, sink *consumertest.LogsSink, ms *memStorage) (*auditReceiver, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tt)
	r, err := newAuditReceiver(cfg, set, sink)
	require.NoError(t, err)
	r.openBucket = func(context.Context, string) (*blob.Bucket, func() error, error) {
		return bucket, func() error { return nil }, nil
	}
	host := componenttest.NewNopHost()
	if ms != nil {
		host = hostWith(ms)
	}
	require.NoError(t, r.Start(context.Background(), host))
	return r, tt
}

func deliveryConfig(withStorage bool) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Source = sourceDelivery
	cfg.Delivery.URL = "mem://"
	cfg.Delivery.PollInterval = 20 * time.Millisecond
	if withStorage {
		id := storageID
		cfg.StorageID = &id
	}
	return cfg
}

func TestReceiverDeliveryRestart(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	ms := newMemStorage()
	writeObject(t, bucket, deliveryKey("7", "a.json"), lines(0, 3))

	sink := &consumertest.LogsSink{}
	r, tt := startReceiver(t, deliveryConfig(true), bucket, sink, ms)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 3 }, 5*time.Second, 10*time.Millisecond)
	// Rewritten while running: the new line arrives, once.
	writeObject(t, bucket, deliveryKey("7", "a.json"), lines(0, 4))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 4 }, 5*time.Second, 10*time.Millisecond)
	metadatatest.AssertEqualDatabricksAuditObjectsTracked(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	got, err := tt.GetMetric("otelcol_databricks_audit_checkpoint_lag")
	require.NoError(t, err)
	lag := got.Data.(metricdata.Gauge[float64]).DataPoints[0].Value
	assert.GreaterOrEqual(t, lag, 0.0)
	assert.Less(t, lag, 5.0)
	require.NoError(t, r.Shutdown(context.Background()))

	// Stopped: an object is written. Restarted with the same storage: it arrives, and
	// nothing that was delivered before arrives again.
	writeObject(t, bucket, deliveryKey("8", "b.json"), lines(10, 12))
	sink2 := &consumertest.LogsSink{}
	r2, _ := startReceiver(t, deliveryConfig(true), bucket, sink2, ms)
	require.Eventually(t, func() bool { return sink2.LogRecordCount() == 2 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // a few more polls
	require.NoError(t, r2.Shutdown(context.Background()))
	var got2 []string
	for _, lr := range flatten(sink2.AllLogs()) {
		got2 = append(got2, attrStr(lr, auditlog.AttrRequestID))
	}
	assert.Equal(t, reqs(10, 12), got2)
	rl := sink2.AllLogs()[0].ResourceLogs().At(0)
	ws, _ := rl.Resource().Attributes().Get(auditlog.ResAttrWorkspaceID)
	assert.Equal(t, "8", ws.Str())
	assert.Equal(t, metadata.ScopeName, rl.ScopeLogs().At(0).Scope().Name())
}

func TestReceiverWarnsWithoutStorage(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	core, logs := observer.New(zap.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	r, err := newAuditReceiver(deliveryConfig(false), set, consumertest.NewNop())
	require.NoError(t, err)
	r.openBucket = func(context.Context, string) (*blob.Bucket, func() error, error) {
		return bucket, func() error { return nil }, nil
	}
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Len(t, logs.FilterMessageSnippet("No storage extension configured").All(), 1)
}

func TestReceiverStorageNotFound(t *testing.T) {
	r, err := newAuditReceiver(deliveryConfig(true), receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `storage: extension "test_storage" not found`)
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestReceiverFileDelivery(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join("auditlog", "testdata", "delivery_reference.jsonl"))
	require.NoError(t, err)
	refLines := strings.Split(strings.TrimSpace(string(ref)), "\n")
	for _, bodyFormat := range []string{bodyFormatMap, bodyFormatString} {
		t.Run("body_format="+bodyFormat, func(t *testing.T) {
			dir := t.TempDir()
			part := filepath.Join(dir, "workspaceId=4839201746501234", "date="+today())
			require.NoError(t, os.MkdirAll(part, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(part, "auditlogs_1.json"), ref, 0o600))

			cfg := createDefaultConfig().(*Config)
			cfg.Source = sourceDelivery
			cfg.BodyFormat = bodyFormat
			cfg.Delivery.URL = "file://" + filepath.ToSlash(dir)
			cfg.Delivery.PollInterval = 20 * time.Millisecond
			sink := &consumertest.LogsSink{}
			r, err := newAuditReceiver(cfg, receivertest.NewNopSettings(metadata.Type), sink)
			require.NoError(t, err)
			require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
			require.Eventually(t, func() bool { return sink.LogRecordCount() == 7 }, 5*time.Second, 10*time.Millisecond)
			require.NoError(t, r.Shutdown(context.Background()))
			for i, lr := range flatten(sink.AllLogs()) {
				assert.Equal(t, "delivery", attrStr(lr, auditlog.AttrAuditSource))
				assert.NotEmpty(t, attrStr(lr, auditlog.AttrEventID))
				if bodyFormat == bodyFormatString {
					assert.Equal(t, refLines[i], lr.Body().Str(), "the Body is the line as read")
				} else {
					assert.Equal(t, pcommon.ValueTypeMap, lr.Body().Type())
				}
			}
		})
	}
}

func TestReceiverSystemTable(t *testing.T) {
	fw := newFakeWarehouse(t)
	now := time.Now().UTC()
	fw.add(auditRow{id: "e1", t: now.Add(-30 * time.Minute), action: "getTable", status: "200"},
		auditRow{id: "e2", t: now.Add(-20 * time.Minute), action: "deleteTable", status: "200"})
	cfg := createDefaultConfig().(*Config)
	cfg.Source = sourceSystemTable
	cfg.Endpoint = fw.srv.URL
	cfg.Token = configopaque.String(warehouseToken)
	cfg.MaxRequestsPerSecond = 1000
	cfg.SystemTable.WarehouseID = "wh-1"
	cfg.SystemTable.PollInterval = 20 * time.Millisecond
	ms := newMemStorage()
	id := storageID
	cfg.StorageID = &id

	run := func(sink *consumertest.LogsSink) (apiRequests int64) {
		tt := componenttest.NewTelemetry()
		t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
		r, err := newAuditReceiver(cfg, metadatatest.NewSettings(tt), sink)
		require.NoError(t, err)
		r.newClient = func(cc databricks.ClientConfig, logger *zap.Logger) (auditQuerier, func() databricks.Stats, func(), error) {
			c, err := databricks.New(cc, logger, databricks.WithPollPolicy(databricks.PollPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
			if err != nil {
				return nil, nil, nil, err
			}
			return c, c.Stats, c.Close, nil
		}
		require.NoError(t, r.Start(context.Background(), hostWith(ms)))
		polls := len(fw.requestedWindows())
		require.Eventually(t, func() bool { return len(fw.requestedWindows()) >= polls+3 }, 5*time.Second, 5*time.Millisecond)
		got, err := tt.GetMetric("otelcol_databricks_audit_api_requests")
		require.NoError(t, err)
		apiRequests = got.Data.(metricdata.Sum[int64]).DataPoints[0].Value
		require.NoError(t, r.Shutdown(context.Background()))
		return apiRequests
	}
	sink := &consumertest.LogsSink{}
	assert.GreaterOrEqual(t, run(sink), int64(3), "one statement per poll, counted by the client")
	require.Equal(t, 2, sink.LogRecordCount(), "overlapping polls emit each event_id once")
	rl := sink.AllLogs()[0].ResourceLogs().At(0)
	ws, _ := rl.Resource().Attributes().Get(auditlog.ResAttrWorkspaceID)
	assert.Equal(t, "42", ws.Str())

	before := len(fw.requestedWindows())
	sink2 := &consumertest.LogsSink{}
	run(sink2)
	assert.Zero(t, sink2.LogRecordCount(), "restart with the same storage: no duplicates")
	assert.Greater(t, len(fw.requestedWindows()), before)
}

func TestReceiverShutdownCancelsRunningStatement(t *testing.T) {
	fw := newFakeWarehouse(t)
	fw.running = true
	cfg := createDefaultConfig().(*Config)
	cfg.Source = sourceSystemTable
	cfg.Endpoint = fw.srv.URL
	cfg.Token = configopaque.String(warehouseToken)
	cfg.MaxRequestsPerSecond = 1000
	cfg.SystemTable.WarehouseID = "wh-1"
	r, err := newAuditReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return len(fw.requestedWindows()) == 1 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	fw.mu.Lock()
	defer fw.mu.Unlock()
	assert.Equal(t, []string{"stmt-1"}, fw.cancelled, "the statement is cancelled on the warehouse")
}

// TestAPIErrorsAndRetriesAreCounted: a failure the client's retries absorb leaves no failed
// poll and no log line, so the error and retry counters are the only trace of it.
func TestAPIErrorsAndRetriesAreCounted(t *testing.T) {
	fw := newFakeWarehouse(t)
	now := time.Now().UTC()
	fw.add(auditRow{id: "e1", t: now.Add(-30 * time.Minute), action: "getTable", status: "200"})
	// The statement submission is not retried on a 500 (it has side effects): that poll fails
	// and the next one submits again, is throttled once, retried, and succeeds.
	fw.failures = []int{http.StatusInternalServerError, http.StatusTooManyRequests}
	cfg := createDefaultConfig().(*Config)
	cfg.Source = sourceSystemTable
	cfg.Endpoint = fw.srv.URL
	cfg.Token = configopaque.String(warehouseToken)
	cfg.MaxRequestsPerSecond = 1000
	cfg.SystemTable.WarehouseID = "wh-1"
	cfg.SystemTable.PollInterval = 20 * time.Millisecond

	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	sink := &consumertest.LogsSink{}
	r, err := newAuditReceiver(cfg, metadatatest.NewSettings(tt), sink)
	require.NoError(t, err)
	r.newClient = func(cc databricks.ClientConfig, logger *zap.Logger) (auditQuerier, func() databricks.Stats, func(), error) {
		c, err := databricks.New(cc, logger,
			databricks.WithRetryPolicy(databricks.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, Multiplier: 1, MaxElapsedTime: time.Minute}),
			databricks.WithPollPolicy(databricks.PollPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
		if err != nil {
			return nil, nil, nil, err
		}
		return c, c.Stats, c.Close, nil
	}
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 1 }, 10*time.Second, 5*time.Millisecond)

	class := func(c string) attribute.Set { return attribute.NewSet(attribute.String("class", c)) }
	metadatatest.AssertEqualDatabricksAuditAPIErrors(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: class("4xx"), Value: 1},
		{Attributes: class("5xx"), Value: 1},
		{Attributes: class("network"), Value: 0},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDatabricksAuditAPIRetries(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: class("4xx"), Value: 1},
		{Attributes: class("5xx"), Value: 0},
		{Attributes: class("network"), Value: 0},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDatabricksAuditAPIThrottles(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}
