//go:build bench

package main

import (
	"slices"
	"time"
)

// summary is the median, minimum and maximum of a few runs.
type summary struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func summarize(values []float64) summary {
	if len(values) == 0 {
		return summary{}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{Median: med, Min: s[0], Max: s[len(s)-1]}
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }
