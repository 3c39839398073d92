// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAppendRingKeepsTheLastNAtItsFinalSize(t *testing.T) {
	var ring []string
	for i := range 25 {
		ring = appendRing(ring, fmt.Sprintf("ev-%02d", i), 10)
		assert.Equal(t, 10, cap(ring), "allocated once, at max_event_ids")
	}
	assert.Equal(t, []string{"ev-15", "ev-16", "ev-17", "ev-18", "ev-19", "ev-20", "ev-21", "ev-22", "ev-23", "ev-24"}, ring)
	assert.Nil(t, appendRing(nil, "", 10), "no id, no ring")

	var large []string
	for i := range 100 {
		large = appendRing(large, fmt.Sprintf("ev-%03d", i), 1000)
	}
	assert.Len(t, large, 100, "a ring over maxPreallocatedRing grows as ids arrive")
	assert.Less(t, cap(large), 1000)
}
