package databricksauditreceiver

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
)

// listedObject is an object found by listObjects.
type listedObject struct {
	key     string
	size    int64
	modTime time.Time
	etag    string
}

// listObjects walks the bucket one directory level at a time so that whole date partitions
// older than cutoff are never listed: `date=YYYY-MM-DD/` (audit-log delivery) and
// `y=YYYY/m=MM/d=DD/` (Azure Monitor archives). Returns every object below them.
func listObjects(ctx context.Context, bucket *blob.Bucket, cutoff time.Time) ([]listedObject, error) {
	var out []listedObject
	cutoffDate := cutoff.UTC().Format(time.DateOnly)
	var walk func(prefix string, year, month string) error
	walk = func(prefix string, year, month string) error {
		it := bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if !obj.IsDir {
				if isHidden(obj.Key) {
					continue
				}
				out = append(out, listedObject{key: obj.Key, size: obj.Size, modTime: obj.ModTime, etag: etagOf(obj)})
				continue
			}
			segment := strings.TrimSuffix(strings.TrimPrefix(obj.Key, prefix), "/")
			if strings.HasPrefix(segment, ".") {
				continue // a staging directory (see isHidden)
			}
			name, value, _ := strings.Cut(segment, "=")
			y, m := year, month
			switch name {
			case "date":
				if len(value) == len(time.DateOnly) && value < cutoffDate {
					continue
				}
			case "y":
				y = value
				if len(value) == 4 && value < cutoffDate[:4] {
					continue
				}
			case "m":
				m = twoDigits(value)
			case "d":
				if y != "" && m != "" && y+"-"+m+"-"+twoDigits(value) < cutoffDate {
					continue
				}
			}
			if err := walk(obj.Key, y, m); err != nil {
				return err
			}
		}
	}
	err := walk("", "", "")
	return out, err
}

// isHidden reports keys whose last element starts with a dot: writers that stage an object
// under a temporary name and rename it when complete (rsync, many upload tools, the simulator's
// directory store) leave such files for a moment; reading one would emit its records twice, once
// under the temporary name and once under the final one. Databricks never delivers such names.
func isHidden(key string) bool {
	return strings.HasPrefix(key[strings.LastIndexByte(key, '/')+1:], ".")
}

func twoDigits(v string) string {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 100 {
		if n < 10 {
			return "0" + strconv.Itoa(n)
		}
		return strconv.Itoa(n)
	}
	return v
}

// etagOf is the object's content hash where the listing carries one (S3, GCS, Azure,
// memory); it tells a rewritten object from an unchanged one of the same size.
func etagOf(obj *blob.ListObject) string {
	return hex.EncodeToString(obj.MD5)
}

// workspaceIDOf reads the workspaceId=<id> partition from an object key ("" if absent).
func workspaceIDOf(key string) string {
	for _, seg := range strings.Split(key, "/") {
		if v, ok := strings.CutPrefix(seg, "workspaceId="); ok {
			return v
		}
	}
	return ""
}
