package simulator

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gocloud.dev/blob"
	// Drivers for the object-store schemes OpenStore accepts.
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"
)

// ObjectStore is where delivery files go.
type ObjectStore interface {
	Put(ctx context.Context, key string, data []byte) error
}

// DirStore writes objects as files under Root, atomically (temp file + rename) so a reader
// never sees a half-written object.
type DirStore struct{ Root string }

// Put implements ObjectStore.
func (d DirStore) Put(_ context.Context, key string, data []byte) error {
	path := filepath.Join(d.Root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// BlobStore writes objects to a gocloud.dev bucket (s3://, gs://, azblob://, mem://), so the
// same code reaches S3 with a custom endpoint or Azurite.
type BlobStore struct{ Bucket *blob.Bucket }

// Put implements ObjectStore; a rewrite replaces the whole object, as Databricks does.
func (b BlobStore) Put(ctx context.Context, key string, data []byte) error {
	return b.Bucket.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: "application/json"})
}

// Close releases the bucket.
func (b BlobStore) Close() error { return b.Bucket.Close() }

// OpenStore opens a delivery destination: a directory path, a file:// URL, or an object-store
// URL whose path is the key prefix (s3://bucket/databricks?region=eu-west-1&endpoint=...,
// azblob://container/prefix, gs://bucket/prefix, mem://) — the URL form the audit receiver reads.
func OpenStore(ctx context.Context, dest string) (ObjectStore, error) {
	if !strings.Contains(dest, "://") {
		return DirStore{Root: dest}, nil
	}
	u, err := url.Parse(dest)
	if err != nil {
		return nil, fmt.Errorf("delivery url: %w", err)
	}
	if u.Scheme == "file" {
		return DirStore{Root: u.Path}, nil
	}
	if prefix := strings.TrimPrefix(u.Path, "/"); prefix != "" && u.Scheme != "mem" {
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		q := u.Query()
		q.Set("prefix", prefix)
		u.RawQuery, u.Path = q.Encode(), ""
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("delivery url %q: %w", dest, err)
	}
	return BlobStore{Bucket: b}, nil
}

// object is one delivery object and the lines already written to it.
type object struct {
	key     string
	events  []*AuditEvent
	written int
}

// Deliverer writes audit-log delivery files incrementally: each call writes the events whose
// DeliverAt has passed; an object that gains late events is rewritten with its old lines first
// and the new lines appended, as Databricks does.
type Deliverer struct {
	store   ObjectStore
	objects map[string]*object
	keys    []string
}

// NewDeliverer prepares the delivery objects of a world under the scenario's prefix.
func NewDeliverer(w *World, store ObjectStore) *Deliverer {
	d := &Deliverer{store: store, objects: map[string]*object{}}
	iv := w.Scenario.Delivery.Interval.D()
	prefix := w.Scenario.Delivery.Prefix
	if prefix != "" {
		prefix += "/"
	}
	d.objects, d.keys = groupIntoObjects(w.Events, func(e *AuditEvent) string {
		bucket := e.Time.Truncate(iv)
		return fmt.Sprintf("%sworkspaceId=%s/date=%s/auditlogs_%s.json", prefix, e.WorkspaceID, bucket.UTC().Format(time.DateOnly),
			stableHex(32, w.Scenario.Seed, "object", e.WorkspaceID, bucket.Unix()))
	})
	return d
}

// groupIntoObjects puts each event into the object keyOf names; keys come back sorted and each
// object's events in delivery order, so output does not depend on map iteration.
func groupIntoObjects(events []AuditEvent, keyOf func(*AuditEvent) string) (map[string]*object, []string) {
	objects := map[string]*object{}
	var keys []string
	for i := range events {
		e := &events[i]
		key := keyOf(e)
		o := objects[key]
		if o == nil {
			o = &object{key: key}
			objects[key] = o
			keys = append(keys, key)
		}
		o.events = append(o.events, e)
	}
	sort.Strings(keys)
	for _, o := range objects {
		sortByDelivery(o.events)
	}
	return objects, keys
}

func sortByDelivery(evs []*AuditEvent) {
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if !a.DeliverAt.Equal(b.DeliverAt) {
			return a.DeliverAt.Before(b.DeliverAt)
		}
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.EventID < b.EventID
	})
}

// Deliver writes every object that gained lines with DeliverAt <= upTo and returns how many
// objects it wrote.
func (d *Deliverer) Deliver(ctx context.Context, upTo time.Time) (int, error) {
	n := 0
	for _, k := range d.keys {
		o := d.objects[k]
		due := 0
		for due < len(o.events) && !o.events[due].DeliverAt.After(upTo) {
			due++
		}
		if due == o.written {
			continue
		}
		var buf bytes.Buffer
		for _, e := range o.events[:due] {
			buf.Write(e.DeliveryLine())
			buf.WriteByte('\n')
		}
		if err := d.store.Put(ctx, o.key, buf.Bytes()); err != nil {
			return n, fmt.Errorf("deliver %s: %w", o.key, err)
		}
		o.written = due
		n++
	}
	return n, nil
}

// AzureWriter writes Azure diagnostic-settings records as a Storage-account archive would:
// insights-logs-<category>/resourceId=<ARM id>/y=/m=/d=/h=/m=00/PT1H.json, each line a
// {"records":[...]} envelope holding the records delivered together.
type AzureWriter struct {
	store      ObjectStore
	resourceID string
	files      map[string]*object
	keys       []string
}

// NewAzureWriter prepares the hourly files of a world.
func NewAzureWriter(w *World, store ObjectStore) *AzureWriter {
	a := &AzureWriter{store: store, resourceID: AzureResourceID(w.Scenario.Workspace), files: map[string]*object{}}
	a.files, a.keys = groupIntoObjects(w.Events, func(e *AuditEvent) string {
		h := e.Time.UTC()
		return fmt.Sprintf("insights-logs-%s/resourceId=%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json",
			strings.ToLower(e.ServiceName), a.resourceID, h.Year(), h.Month(), h.Day(), h.Hour())
	})
	return a
}

// Deliver writes the files that gained records with DeliverAt <= upTo.
func (a *AzureWriter) Deliver(ctx context.Context, upTo time.Time) (int, error) {
	n := 0
	for _, k := range a.keys {
		o := a.files[k]
		due := 0
		for due < len(o.events) && !o.events[due].DeliverAt.After(upTo) {
			due++
		}
		if due == o.written {
			continue
		}
		var buf bytes.Buffer
		for i := 0; i < due; {
			j := i
			buf.WriteString(`{"records":[`)
			for ; j < due && o.events[j].DeliverAt.Equal(o.events[i].DeliverAt); j++ {
				if j > i {
					buf.WriteByte(',')
				}
				e := o.events[j]
				buf.Write(e.AzureRecord(a.resourceID, hashString(e.EventID)%10 == 0))
			}
			buf.WriteString("]}\n")
			i = j
		}
		if err := a.store.Put(ctx, o.key, buf.Bytes()); err != nil {
			return n, fmt.Errorf("azure %s: %w", o.key, err)
		}
		o.written = due
		n++
	}
	return n, nil
}
