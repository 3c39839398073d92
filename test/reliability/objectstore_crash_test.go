//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"go.opentelemetry.io/collector/pdata/plog"
	"gocloud.dev/blob"
	// The object stores the simulator writes to and the test reads back.
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/test/fakes3"
)

// Azurite is installed by .ci/run with this command (3.35.0 is the newest release that runs on
// Node 20).
const azuriteInstall = "npm install --no-audit --no-fund --prefix .cache/azurite azurite@3.35.0"

// Azurite's well-known development account (documented by Microsoft; not a secret).
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azurite is a running Azurite blob service.
type azurite struct {
	addr string // host:port
}

// startAzurite runs Azurite's blob service on a free port with its data in a temporary
// directory. A missing Azurite fails the test: CI installs it, and skipping would hide that the
// Azure source was not tested.
func startAzurite(t *testing.T) *azurite {
	t.Helper()
	bin := os.Getenv("AZURITE_BLOB")
	if bin == "" {
		local, err := filepath.Abs(filepath.Join(repoRoot, ".cache", "azurite", "node_modules", ".bin", "azurite-blob"))
		mustf(t, err, "azurite path")
		bin = local
		if _, err := os.Stat(local); err != nil {
			p, err := exec.LookPath("azurite-blob")
			if err != nil {
				t.Fatalf("Azurite is not installed (no %s, no azurite-blob in PATH, AZURITE_BLOB unset): run .ci/run, or `%s` in the repository", local, azuriteInstall)
			}
			bin = p
		}
	}
	addr := freeAddress(t)
	host, port, _ := net.SplitHostPort(addr)
	p := startProcess(t, "azurite", bin, nil, "--blobHost", host, "--blobPort", port,
		"--location", t.TempDir(), "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")
	waitFor(t, time.Minute, "Azurite listening", func() error {
		if p.exited() {
			t.Fatalf("azurite exited: %v\n%s", p.err, p.output.String())
		}
		if !strings.Contains(p.output.String(), "Azurite Blob service successfully listens on ") {
			return fmt.Errorf("no 'successfully listens' line yet")
		}
		return nil
	})
	return &azurite{addr: addr}
}

// env is what a gocloud.dev azblob client (the collector's, the simulator's, this test's)
// needs, with any Azure configuration of the machine kept out of the way.
func (a *azurite) env() []string {
	return []string{
		"AZURE_STORAGE_ACCOUNT=" + azuriteAccount,
		"AZURE_STORAGE_KEY=" + azuriteKey,
		"AZURE_STORAGE_CONNECTION_STRING=",
		"AZURE_STORAGEBLOB_CONNECTIONSTRING=",
		"AZURE_STORAGE_SAS_TOKEN=",
	}
}

// bucketURL is the gocloud.dev URL of a container on this emulator.
func (a *azurite) bucketURL(container string) string {
	return fmt.Sprintf("azblob://%s?domain=%s&protocol=http&localemu=true", container, a.addr)
}

// createContainer creates a container (gocloud.dev does not create them).
func (a *azurite) createContainer(t *testing.T, name string) {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	mustf(t, err, "azurite credential")
	client, err := azblob.NewClientWithSharedKeyCredential(fmt.Sprintf("http://%s/%s/", a.addr, azuriteAccount), cred, nil)
	mustf(t, err, "azurite client")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = client.CreateContainer(ctx, name, nil)
	mustf(t, err, "create container %s on Azurite", name)
}

// setEnv sets KEY=value pairs for this test process; the simulator and the collector, started
// as children, inherit them.
func setEnv(t *testing.T, kvs []string) {
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// readBucket returns every object under a receiver-style bucket URL (its path is the key
// prefix), keyed by object key.
func readBucket(t *testing.T, bucketURL string) map[string][]byte {
	t.Helper()
	u, err := url.Parse(bucketURL)
	mustf(t, err, "bucket url")
	if prefix := strings.TrimPrefix(u.Path, "/"); prefix != "" {
		q := u.Query()
		q.Set("prefix", strings.TrimSuffix(prefix, "/")+"/")
		u.RawQuery, u.Path = q.Encode(), ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := blob.OpenBucket(ctx, u.String())
	mustf(t, err, "open %s", bucketURL)
	defer b.Close()
	objects := map[string][]byte{}
	it := b.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		mustf(t, err, "list %s", bucketURL)
		if obj.IsDir {
			continue
		}
		data, err := b.ReadAll(ctx, obj.Key)
		mustf(t, err, "read %s", obj.Key)
		objects[obj.Key] = data
	}
	return objects
}

var workspacePartition = regexp.MustCompile(`workspaceId=([^/]+)/`)

// objectEvents is the ground truth of an object store: the event id of every record in every
// object, computed with the receiver's own normaliser (delivery lines, or Azure envelopes).
func objectEvents(t *testing.T, objects map[string][]byte, azure bool) eventCounts {
	t.Helper()
	b := auditlog.NewBatch(auditlog.NewParser(), "reliability", "")
	for key, data := range objects {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			if azure {
				_, rejected, err := b.AppendAzureLine(sc.Bytes())
				if err != nil || rejected > 0 {
					t.Fatalf("%s: a simulator line the normaliser rejects (%d records): %v", key, rejected, err)
				}
				continue
			}
			m := workspacePartition.FindStringSubmatch(key)
			if m == nil {
				t.Fatalf("delivery object %s has no workspaceId= partition", key)
			}
			mustf(t, b.AppendDeliveryLine(sc.Bytes(), m[1]), "%s: simulator line does not parse", key)
		}
		mustf(t, sc.Err(), "scan %s", key)
	}
	want := eventCounts{}
	forEachRecord(b.Take(), func(lr plog.LogRecord) {
		v, _ := lr.Attributes().Get(auditlog.AttrEventID)
		want[v.Str()]++
	})
	return want
}

// TestCrashSafetyObjectStores is TestCrashSafetyUnderSIGKILL for the object-store sources:
// audit delivery files in S3 (the in-process fake, test/fakes3) and Azure diagnostic records
// in Azure Blob storage (Azurite), both written live by the simulator while the collector is
// killed with SIGKILL and restarted. The Azure hourly files (PT1H.json) are rewritten with
// every tick, so most kills land while an object the receiver has partly read keeps growing.
func TestCrashSafetyObjectStores(t *testing.T) {
	if testing.Short() {
		// 55 s at its smallest size: with the persistent-queue kill test the quick subset would
		// pass its 5-minute budget.
		t.Skip("runs in make test-reliability, not in the quick subset")
	}
	requireComponents(t, "databricks_audit", "file", "file_storage")
	kills, stream := 1, 30*time.Second
	if fullRun() {
		kills, stream = 10, 4*time.Minute
	}
	dir := t.TempDir()
	sinkDir := filepath.Join(dir, "sink")
	mustf(t, os.MkdirAll(sinkDir, 0o700), "mkdir")

	setEnv(t, fakes3.Env())
	s3, err := fakes3.Start("audit-bucket")
	mustf(t, err, "fake S3")
	t.Cleanup(s3.Close)
	s3URL := s3.BucketURL("audit-bucket", "databricks")
	az := startAzurite(t)
	az.createContainer(t, "insights")
	setEnv(t, az.env())
	azURL := az.bucketURL("insights")

	scenario := writeFile(t, dir, "crash.yaml", crashScenario())
	args := simulatorStreamArgs(scenario, "unused", stream)
	args = append(args[:len(args)-2], "--delivery-url", s3URL, "--azure-dir", azURL)
	sim := startSimulator(t, args...)

	ports := newCollectorPorts(t)
	cfg := writeFile(t, dir, "collector.yaml", withFileStorage(fmt.Sprintf(`receivers:
  databricks_audit/s3:
    source: delivery
    storage: file_storage
    delivery:
      url: %q
      poll_interval: 1s
  databricks_audit/azure:
    source: azure_diagnostics
    storage: file_storage
    azure_diagnostics:
      url: %q
      poll_interval: 1s
exporters:
  file/s3:
    path: %s
    rotation: {max_megabytes: 1024}
  file/azure:
    path: %s
    rotation: {max_megabytes: 1024}
`, s3URL, azURL, filepath.Join(sinkDir, "s3.jsonl"), filepath.Join(sinkDir, "azure.jsonl"))+
		strings.Replace(ports.serviceYAML("databricks_audit/s3", "", "file/s3"),
			"  pipelines:\n", "  pipelines:\n    logs/azure:\n      receivers: [databricks_audit/azure]\n      exporters: [file/azure]\n", 1),
		filepath.Join(dir, "state")))

	s3Before := s3.Requests()
	began := time.Now()
	p := startCollector(t, cfg)
	p = killAndRestart(t, p, cfg, began, killSchedule(t, kills, stream))
	sim.awaitTimelineEnd(t, stream+time.Minute)
	time.Sleep(3 * time.Second) // the last delivery tick
	sources := []struct {
		name string
		want eventCounts
	}{
		{"s3", objectEvents(t, readBucket(t, s3URL), false)},
		{"azure", objectEvents(t, readBucket(t, azURL), true)},
	}
	for _, s := range sources {
		if s.want.total() < 100 {
			t.Fatalf("%s: the simulator produced too little to judge: %d records", s.name, s.want.total())
		}
	}
	caughtUp := func() error {
		for _, s := range sources {
			got, _ := sinkEvents(t, filepath.Join(sinkDir, s.name+".jsonl"))
			if r := compareEvents(s.want, got); r.lost > 0 {
				return fmt.Errorf("%s: %v", s.name, r)
			}
		}
		return nil
	}
	deadline := time.Now().Add(90 * time.Second)
	for caughtUp() != nil && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	p.stop(t, 30*time.Second)

	if after := s3.Requests(); after["LIST"] <= s3Before["LIST"] || after["GET"] <= s3Before["GET"] {
		t.Errorf("the collector did not read through S3: requests before %v, after %v", s3Before, after)
	}
	for _, s := range sources {
		sink := filepath.Join(sinkDir, s.name+".jsonl")
		got, torn := sinkEvents(t, sink)
		r := compareEvents(s.want, got)
		maxBatch := largestSinkBatch(t, sink)
		t.Logf("RESULT crash-safety source=%s kills=%d: %v; torn sink lines %d; largest batch %d", s.name, kills, r, torn, maxBatch)
		if r.lost > 0 {
			t.Errorf("%s: %d records lost after %d SIGKILLs (first ids %v)", s.name, r.lost, kills, r.lostIDs[:min(5, len(r.lostIDs))])
		}
		if r.duplicated > kills*maxBatch {
			t.Errorf("%s: %d duplicates after %d kills, more than one batch (max %d records) per kill", s.name, r.duplicated, kills, maxBatch)
		}
	}
}
