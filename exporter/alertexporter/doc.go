// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../bin/mdatagen metadata.yaml

// Package alertexporter turns access-anomaly findings (log records with
// event.name == databricks.access_anomaly) into alerts for Alertmanager,
// Slack, PagerDuty and generic webhooks.
package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"
