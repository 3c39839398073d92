// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

// Package deploy holds the deployment files of otelcol-databricks: the container image, the
// systemd unit, the Kubernetes sidecar manifest and the Helm chart. It has no Go code of its own:
// its tests keep the shipped collector configuration and the deployment files consistent (the
// same configuration everywhere, every referenced variable provided, state on the right path).
package deploy // import "github.com/otelcol-databricks/otelcol-databricks/deploy"
