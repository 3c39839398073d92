package fakes3

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func setEnv(t *testing.T) {
	for _, kv := range Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// TestGocloudRoundTrip drives the server through gocloud.dev's s3blob driver exactly as the
// audit receiver and the simulator do: put, rewrite, list one level at a time, head, read.
func TestGocloudRoundTrip(t *testing.T) {
	setEnv(t)
	srv, err := Start("audit")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	raw := srv.BucketURL("audit", "databricks")
	u := strings.Replace(raw, "/databricks?", "?prefix=databricks%2F&", 1)
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	defer b.Close()

	objects := map[string]string{
		"workspaceId=1/date=2026-01-05/auditlogs_a.json": "{\"n\":1}\n",
		"workspaceId=1/date=2026-01-06/auditlogs_b.json": "{\"n\":2}\n",
		"workspaceId=0/date=2026-01-05/auditlogs_c.json": "{\"n\":3}\n",
	}
	for k, v := range objects {
		if err := b.WriteAll(ctx, k, []byte(v), nil); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	// a rewrite replaces the object with more lines, as Databricks does
	grown := "{\"n\":1}\n{\"n\":4}\n"
	if err := b.WriteAll(ctx, "workspaceId=1/date=2026-01-05/auditlogs_a.json", []byte(grown), nil); err != nil {
		t.Fatal(err)
	}
	objects["workspaceId=1/date=2026-01-05/auditlogs_a.json"] = grown

	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"workspaceId=0/", "workspaceId=1/"}},
		{"workspaceId=1/", []string{"workspaceId=1/date=2026-01-05/", "workspaceId=1/date=2026-01-06/"}},
		{"workspaceId=1/date=2026-01-05/", []string{"workspaceId=1/date=2026-01-05/auditlogs_a.json"}},
	}
	for _, tt := range tests {
		var got []string
		it := b.List(&blob.ListOptions{Prefix: tt.prefix, Delimiter: "/"})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("list %q: %v", tt.prefix, err)
			}
			got = append(got, obj.Key)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("list %q = %v, want %v", tt.prefix, got, tt.want)
		}
	}
	for k, want := range objects {
		attrs, err := b.Attributes(ctx, k)
		if err != nil {
			t.Fatalf("head %s: %v", k, err)
		}
		if attrs.Size != int64(len(want)) || attrs.ETag == "" {
			t.Errorf("head %s: size %d etag %q, want size %d and an etag", k, attrs.Size, attrs.ETag, len(want))
		}
		got, err := b.ReadAll(ctx, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		if string(got) != want {
			t.Errorf("get %s = %q, want %q", k, got, want)
		}
	}
	// a ranged read, as a reader resuming at an offset does
	r, err := b.NewRangeReader(ctx, "workspaceId=1/date=2026-01-05/auditlogs_a.json", 8, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(rest) != "{\"n\":4}\n" {
		t.Errorf("range read from 8 = %q, %v; want the appended line", rest, err)
	}
	reqs := srv.Requests()
	if reqs["PUT"] != 4 || reqs["LIST"] < 3 || reqs["GET"] < 4 {
		t.Errorf("requests served = %v, want 4 PUT, >= 3 LIST, >= 4 GET", reqs)
	}
}

func TestMissingObject(t *testing.T) {
	setEnv(t)
	srv, err := Start("audit")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, srv.BucketURL("audit", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.ReadAll(ctx, "nope.json"); err == nil {
		t.Fatal("reading a missing object succeeded")
	}
	if ok, err := b.Exists(ctx, "nope.json"); ok || err != nil {
		t.Fatalf("Exists(missing) = %v, %v", ok, err)
	}
}
