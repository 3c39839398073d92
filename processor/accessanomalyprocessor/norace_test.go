// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !race

package accessanomalyprocessor

const raceDetector = false
