package databricksauditreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadatatest"
)

// auditLine is a minimal valid delivery line; n makes it unique.
func auditLine(n int) string {
	return fmt.Sprintf(`{"version":"2.0","timestamp":%d,"accountId":"acc","serviceName":"accounts","actionName":"tokenLogin","requestId":"req-%d","userIdentity":{"email":"user%d@example.com"},"response":{"statusCode":200}}`,
		1735725600000+int64(n), n, n)
}

func lines(from, to int) string {
	var sb strings.Builder
	for i := from; i < to; i++ {
		sb.WriteString(auditLine(i))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func today() string { return time.Now().UTC().Format(time.DateOnly) }

func deliveryKey(ws, name string) string {
	return "workspaceId=" + ws + "/date=" + today() + "/" + name
}

func writeObject(t *testing.T, b *blob.Bucket, key, content string) {
	t.Helper()
	require.NoError(t, b.WriteAll(context.Background(), key, []byte(content), nil))
}

// newObjectSource returns a delivery source over bucket with a fresh env.
func newObjectSource(t *testing.T, bucket *blob.Bucket, store *checkpointStore, next *flakyConsumer) (*objectSource, *sourceEnv) {
	t.Helper()
	env := newSourceEnv(t, next)
	cfg := defaultObjectConfig()
	cfg.MaxLineSize = 2048
	s := &objectSource{
		source: auditlog.SourceDelivery, cfg: cfg, bucket: bucket, store: store, deliverer: env.deliverer,
		telemetry: env.telemetry, logger: env.logger, batch: auditlog.NewBatch(auditlog.NewParser(), "test", ""),
		batchSize: 3, now: time.Now,
	}
	require.NoError(t, s.load(context.Background()))
	return s, env
}

func storeFor(t *testing.T, ms *memStorage, id component.ID) *checkpointStore {
	t.Helper()
	cs, err := newCheckpointStore(context.Background(), hostWith(ms), &storageID, id)
	require.NoError(t, err)
	return cs
}

func ids(t *testing.T, next *flakyConsumer) []string {
	t.Helper()
	var out []string
	for _, lr := range next.records() {
		out = append(out, attrStr(lr, auditlog.AttrRequestID))
	}
	return out
}

func reqs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("req-%d", i))
	}
	return out
}

func TestObjectSourceReadsNewLinesOnly(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	ms := newMemStorage()
	id := component.MustNewIDWithName("databricks_audit", "rewrite")
	next := &flakyConsumer{}
	s, _ := newObjectSource(t, bucket, storeFor(t, ms, id), next)

	key := deliveryKey("111", "auditlogs_a.json")
	writeObject(t, bucket, key, lines(0, 5))
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(0, 5), ids(t, next))
	rl := next.logs[0].ResourceLogs().At(0)
	wsAttr, _ := rl.Resource().Attributes().Get(auditlog.ResAttrWorkspaceID)
	assert.Equal(t, "111", wsAttr.Str(), "workspace id comes from the path")

	// Databricks rewrites the object with more lines: only those are emitted.
	writeObject(t, bucket, key, lines(0, 8))
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(0, 8), ids(t, next))

	// Nothing new: nothing emitted.
	require.NoError(t, s.poll(ctx))
	assert.Len(t, next.records(), 8)

	var cp objectCheckpoint
	require.NoError(t, json.Unmarshal(ms.value(id), &cp))
	pos := cp.Objects[key]
	assert.Equal(t, int64(len(lines(0, 8))), pos.Offset)
	assert.Equal(t, int64(8), pos.Lines)
	assert.Equal(t, byte('\n'), pos.LastByte)
	assert.False(t, cp.LastFullScan.IsZero())
}

// A writer that stages an object under a hidden name and renames it when complete must not
// have its records read twice (found by the reliability soak with the simulator's directory store).
func TestObjectSourceSkipsHiddenStagingObjects(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	ms := newMemStorage()
	id := component.MustNewIDWithName("databricks_audit", "staging")
	next := &flakyConsumer{}
	s, _ := newObjectSource(t, bucket, storeFor(t, ms, id), next)

	writeObject(t, bucket, deliveryKey("1", "auditlogs_a.json"), lines(0, 3))
	writeObject(t, bucket, deliveryKey("1", ".tmp0000014"), lines(10, 14))
	writeObject(t, bucket, deliveryKey("1", ".staging/auditlogs_b.json"), lines(20, 22))
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(0, 3), ids(t, next), "hidden objects and directories are not read")

	// The staged object is renamed to its final name: its records arrive once.
	require.NoError(t, bucket.Delete(ctx, deliveryKey("1", ".tmp0000014")))
	writeObject(t, bucket, deliveryKey("1", "auditlogs_c.json"), lines(10, 14))
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, append(reqs(0, 3), reqs(10, 14)...), ids(t, next))
}

func TestObjectSourceRestartNoDuplicatesAndCatchUp(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	ms := newMemStorage()
	id := component.MustNewIDWithName("databricks_audit", "restart")

	writeObject(t, bucket, deliveryKey("1", "a.json"), lines(0, 4))
	first := &flakyConsumer{}
	s1, _ := newObjectSource(t, bucket, storeFor(t, ms, id), first)
	require.NoError(t, s1.poll(ctx))
	require.Equal(t, reqs(0, 4), ids(t, first))

	// While "stopped": one object grows, a new one appears.
	writeObject(t, bucket, deliveryKey("1", "a.json"), lines(0, 6))
	writeObject(t, bucket, deliveryKey("2", "b.json"), lines(100, 102))

	second := &flakyConsumer{}
	s2, _ := newObjectSource(t, bucket, storeFor(t, ms, id), second)
	require.NoError(t, s2.poll(ctx))
	assert.ElementsMatch(t, append(reqs(4, 6), reqs(100, 102)...), ids(t, second), "only what is new since the checkpoint")
}

func TestObjectSourceMalformedLineCountedAndSkipped(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	next := &flakyConsumer{}
	s, env := newObjectSource(t, bucket, &checkpointStore{client: nopStorage()}, next)

	content := auditLine(0) + "\n" +
		`{"timestamp":1735725600000,"serviceName":"acc` + "\n" + // truncated JSON
		auditLine(1) + "\n" +
		"\n" + // blank lines are not records
		strings.Repeat("x", 3000) + "\n" + // over max_line_size (2048)
		"not json at all\n" +
		auditLine(2) + "\n"
	key := deliveryKey("1", "bad.json")
	writeObject(t, bucket, key, content)
	require.NoError(t, s.poll(ctx))

	assert.Equal(t, reqs(0, 3), ids(t, next), "the good records around the bad ones flow")
	metadatatest.AssertEqualDatabricksAuditRecordsRejected(t, env.tt, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDatabricksAuditRecordsRead(t, env.tt, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualDatabricksAuditRecordsEmitted(t, env.tt, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())

	warnings := env.logs.FilterMessageSnippet("Skipping malformed audit record").All()
	require.Len(t, warnings, 1, "logged once per object")
	fields := warnings[0].ContextMap()
	assert.Equal(t, key, fields["object"])
	assert.Equal(t, int64(2), fields["line"])
	assert.Equal(t, int64(len(auditLine(0))+1), fields["byte_offset"])
	summary := env.logs.FilterMessageSnippet("Skipped malformed audit records in object").All()
	require.Len(t, summary, 1)
	assert.Equal(t, int64(3), summary[0].ContextMap()["count"])
}

func TestObjectSourceRefusedBatchRetriedCursorKept(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	ms := newMemStorage()
	id := component.MustNewIDWithName("databricks_audit", "refuse")
	writeObject(t, bucket, deliveryKey("1", "a.json"), lines(0, 2))

	next := &flakyConsumer{refusals: 3}
	next.onRefuse = func() {
		assert.Empty(t, ms.value(id), "no checkpoint while the batch is refused")
	}
	s, _ := newObjectSource(t, bucket, storeFor(t, ms, id), next)
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, 4, next.calls, "three refusals, then accepted")
	assert.Equal(t, reqs(0, 2), ids(t, next), "the same batch, once")
	assert.NotEmpty(t, ms.value(id))
}

func TestObjectSourceShutdownWhileRefusedKeepsData(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	ms := newMemStorage()
	id := component.MustNewIDWithName("databricks_audit", "stop")
	writeObject(t, bucket, deliveryKey("1", "a.json"), lines(0, 2))

	ctx, cancel := context.WithCancel(context.Background())
	refusing := &flakyConsumer{refusals: 1 << 30}
	refusing.onRefuse = func() {
		if refusing.calls == 3 {
			cancel() // the collector shuts down while the pipeline still refuses
		}
	}
	s, _ := newObjectSource(t, bucket, storeFor(t, ms, id), refusing)
	require.ErrorIs(t, s.poll(ctx), context.Canceled)
	assert.Empty(t, ms.value(id), "nothing was accepted, nothing checkpointed")

	accepting := &flakyConsumer{}
	s2, _ := newObjectSource(t, bucket, storeFor(t, ms, id), accepting)
	require.NoError(t, s2.poll(context.Background()))
	assert.Equal(t, reqs(0, 2), ids(t, accepting), "delivered after the restart")
}

func TestObjectSourceUnterminatedTail(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	next := &flakyConsumer{}
	s, env := newObjectSource(t, bucket, &checkpointStore{client: nopStorage()}, next)
	key := deliveryKey("1", "growing.json")
	full := auditLine(1)

	// A line still being written is not consumed...
	writeObject(t, bucket, key, auditLine(0)+"\n"+full[:40])
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(0, 1), ids(t, next))
	// ...and is read whole once complete.
	writeObject(t, bucket, key, auditLine(0)+"\n"+full+"\n")
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(0, 2), ids(t, next))

	// A complete last line without a newline is a record.
	writeObject(t, bucket, key, auditLine(0)+"\n"+full+"\n"+auditLine(2))
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(0, 3), ids(t, next))

	// A broken unterminated tail is rejected once the object stopped changing.
	writeObject(t, bucket, key, auditLine(0)+"\n"+full+"\n"+auditLine(2)+"\n{broken")
	require.NoError(t, s.poll(ctx)) // may still be written: kept
	require.NoError(t, s.poll(ctx)) // unchanged since: rejected
	require.NoError(t, s.poll(ctx))
	assert.Len(t, next.records(), 3)
	metadatatest.AssertEqualDatabricksAuditRecordsRejected(t, env.tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

func TestObjectSourceReplacedObjectSkipsLinesAlreadyRead(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	next := &flakyConsumer{}
	s, env := newObjectSource(t, bucket, &checkpointStore{client: nopStorage()}, next)
	key := deliveryKey("1", "a.json")
	writeObject(t, bucket, key, lines(0, 3))
	require.NoError(t, s.poll(ctx))

	// Rewritten with the same three records re-serialised (different bytes) plus two more.
	rewritten := strings.ReplaceAll(lines(0, 3), `"version":"2.0",`, `"version":"2.0", `) + lines(3, 5)
	writeObject(t, bucket, key, rewritten)
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(0, 5), ids(t, next))
	assert.Len(t, env.logs.FilterMessageSnippet("replaced rather than extended").All(), 1)
}

func TestObjectSourceRetentionAndDatePruning(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	next := &flakyConsumer{}
	s, _ := newObjectSource(t, bucket, &checkpointStore{client: nopStorage()}, next)

	writeObject(t, bucket, "workspaceId=1/date=2020-01-01/old.json", lines(0, 2))
	writeObject(t, bucket, "insights-logs-accounts/resourceId=/X/y=2020/m=1/d=1/h=00/m=00/PT1H.json", lines(10, 12))
	writeObject(t, bucket, deliveryKey("1", "new.json"), lines(20, 22))
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(20, 22), ids(t, next), "partitions older than retention are not read")
	assert.Equal(t, int64(1), s.tracked.Load())

	// Later than the retention window: the object is forgotten and not read again.
	s.now = func() time.Time { return time.Now().Add(100 * time.Hour) }
	writeObject(t, bucket, "workspaceId=1/date="+s.now().UTC().Format(time.DateOnly)+"/newer.json", lines(30, 31))
	// memblob stamps ModTime with the wall clock, which is now "old": nothing is read.
	require.NoError(t, s.poll(ctx))
	assert.Equal(t, reqs(20, 22), ids(t, next))
	assert.Empty(t, s.state.Objects, "objects older than retention are forgotten")
}

func TestObjectSourceFileBucketAzure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now().UTC()
	rel := filepath.Join("insights-logs-clusters", "resourceId=", "SUBSCRIPTIONS", "S", "WORKSPACES", "W",
		"y="+now.Format("2006"), "m="+now.Format("01"), "d="+now.Format("02"), "h=00", "m=00")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, rel), 0o755))
	records, err := os.ReadFile(filepath.Join("auditlog", "testdata", "azure_records.jsonl"))
	require.NoError(t, err)
	envelope, err := os.ReadFile(filepath.Join("auditlog", "testdata", "azure_envelope.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, rel, "PT1H.json"), records, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, rel, "eventhub.json"), envelope, 0o600))

	bucket, closeFn, err := openBucket(ctx, "file://"+filepath.ToSlash(dir))
	require.NoError(t, err)
	defer func() { require.NoError(t, closeFn()) }()
	next := &flakyConsumer{}
	s, _ := newObjectSource(t, bucket, &checkpointStore{client: nopStorage()}, next)
	s.source = auditlog.SourceAzureDiagnostics
	s.cfg.MaxLineSize = 1 << 20
	require.NoError(t, s.poll(ctx))
	recs := next.records()
	require.Len(t, recs, 8)
	for _, lr := range recs {
		assert.Equal(t, "azure_diagnostics", attrStr(lr, auditlog.AttrAuditSource))
	}
	actions := map[string]int{}
	for _, lr := range recs {
		actions[attrStr(lr, auditlog.AttrActionName)]++
	}
	assert.Equal(t, map[string]int{"aadBrowserLogin": 2, "permanentDelete": 2, "runFailed": 2, "downloadQueryResult": 2}, actions)
	require.NoError(t, s.poll(ctx))
	assert.Len(t, next.records(), 8, "files are not read twice")
}

func TestBucketURL(t *testing.T) {
	for in, want := range map[string]string{
		"s3://audit-bucket/databricks/?region=eu-west-1": "s3://audit-bucket?prefix=databricks%2F&region=eu-west-1",
		"s3://audit-bucket?region=eu-west-1":             "s3://audit-bucket?region=eu-west-1",
		"gs://b/a/b":                                     "gs://b?prefix=a%2Fb%2F",
		"azblob://container":                             "azblob://container",
		"file:///var/log/audit":                          "file:///var/log/audit",
	} {
		got, err := bucketURL(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, in)
	}
	assert.Equal(t, "aws", cloudProviderOf("s3://b"))
	assert.Equal(t, "gcp", cloudProviderOf("gs://b"))
	assert.Equal(t, "azure", cloudProviderOf("azblob://b"))
	assert.Equal(t, "", cloudProviderOf("file:///x"))
	assert.Equal(t, "azure", cloudProviderOfEndpoint("https://adb-1.2.azuredatabricks.net"))
	assert.Equal(t, "aws", cloudProviderOfEndpoint("https://dbc-1.cloud.databricks.com"))
	assert.Equal(t, "gcp", cloudProviderOfEndpoint("https://1.2.gcp.databricks.com"))
	assert.Equal(t, "", cloudProviderOfEndpoint("http://127.0.0.1:8080"))
	assert.Equal(t, "123", workspaceIDOf("prefix/workspaceId=123/date=2025-01-01/a.json"))
	assert.Equal(t, "", workspaceIDOf("a/b.json"))
}
