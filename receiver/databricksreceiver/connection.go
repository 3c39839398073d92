// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import "github.com/otelcol-databricks/otelcol-databricks/internal/databricks"

// connectionConfig holds the connection keys shared with databricks_audit (DESIGN §2).
type connectionConfig = databricks.ClientConfig

func newDefaultConnectionConfig() connectionConfig { return databricks.NewDefaultClientConfig() }
