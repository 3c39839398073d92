// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"errors"
	"net/url"
)

// redactURL keeps only scheme and host: a Slack webhook carries its secret
// in the path, and any endpoint may carry one in the query or user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<redacted>"
	}
	out := u.Scheme + "://" + u.Host
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		out += "/<redacted>"
	}
	return out
}

// redactError replaces the URL net/http puts into transport errors
// ("Post \"https://hooks.slack.com/services/...\": dial tcp ...") so that
// neither our logs nor exporterhelper's print the secret.
func redactError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return &url.Error{Op: uerr.Op, URL: redactURL(uerr.URL), Err: uerr.Err}
	}
	return err
}
