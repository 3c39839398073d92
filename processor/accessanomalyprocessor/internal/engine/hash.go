// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

// FNV-1a, 64 bit: stable across processes (state is persisted keyed by these
// hashes) and allocation-free over strings.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func hashOf(s string) uint64 { return hashString(fnvOffset, s) }
