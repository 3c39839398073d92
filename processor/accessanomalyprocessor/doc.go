// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../bin/mdatagen metadata.yaml

// Package accessanomalyprocessor detects suspicious access in Databricks audit
// log records. Every record passes through; findings are added as new log
// records (emit: append) or as attributes on the triggering record (emit: annotate).
package accessanomalyprocessor // import "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor"
