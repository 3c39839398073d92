// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../bin/mdatagen metadata.yaml

// Package databricksreceiver scrapes the health of a Databricks workspace (clusters, jobs, SQL
// warehouses, identities and, optionally, the compute and billing system tables) into metrics,
// and emits cluster events, finished job runs and identity changes as logs.
package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"
