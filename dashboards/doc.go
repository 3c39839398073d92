// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

// Package dashboards holds the Grafana dashboards and Prometheus alert rules shipped with
// otelcol-databricks. It has no Go code of its own: its tests keep the dashboards, the rules and
// the Prometheus name contract in README.md consistent with each other and with the names the
// collector's prometheus exporter produces.
package dashboards // import "github.com/otelcol-databricks/otelcol-databricks/dashboards"
