package databricksauditreceiver

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"gocloud.dev/blob"
	// Bucket drivers for the supported URL schemes (config.go supportedSchemes).
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

// bucketOpener opens a bucket URL and returns how to release it; tests replace it to share
// one in-memory bucket across receiver restarts.
type bucketOpener func(ctx context.Context, rawURL string) (*blob.Bucket, func() error, error)

// openBucket opens rawURL through gocloud.dev. For object stores the URL path is the key
// prefix (s3://bucket/databricks/ lists under databricks/), which gocloud expects as a prefix
// query parameter; for file:// the path is the directory itself.
func openBucket(ctx context.Context, rawURL string) (*blob.Bucket, func() error, error) {
	u, err := bucketURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	return b, b.Close, nil
}

func bucketURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("invalid bucket URL: %w", err)
	}
	if u.Scheme == "file" || u.Scheme == "mem" {
		return rawURL, nil
	}
	if prefix := strings.TrimPrefix(u.Path, "/"); prefix != "" {
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		q := u.Query()
		q.Set("prefix", prefix)
		u.RawQuery = q.Encode()
		u.Path = ""
	}
	return u.String(), nil
}

// cloudProviderOf derives cloud.provider from the bucket scheme ("" when it says nothing,
// e.g. a local directory).
func cloudProviderOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "s3":
		return auditlog.CloudAWS
	case "gs":
		return auditlog.CloudGCP
	case "azblob":
		return auditlog.CloudAzure
	}
	return ""
}
