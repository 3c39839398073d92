// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"cmp"
	"slices"
)

// sortedKeys makes map iteration deterministic wherever output order is visible.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedInt64s(set map[int64]bool) []int64 { return sortedKeys(set) }

func sortedRunIDs(m map[int64]trackedRun) []int64 { return sortedKeys(m) }

func sortStrings(s []string) { slices.Sort(s) }

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
