// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func failedLogin(t time.Time, user, ip string) rec {
	return audit(t, a{"databricks.service_name": "accounts", "databricks.action_name": "login",
		"http.response.status_code": int64(401), "user.email": user, "source.address": ip,
		"databricks.request_params.authenticationMethod": "PASSWORD"})
}

func okLogin(t time.Time, user, ip string) rec {
	return audit(t, a{"databricks.service_name": "accounts", "databricks.action_name": "samlLogin",
		"http.response.status_code": int64(200), "user.email": user, "source.address": ip})
}

// TestWindowRules covers the threshold and sequence rules: bursts that must
// fire (with the count and window in the finding) and near misses that must
// not (below threshold, spread beyond the window, noise).
func TestWindowRules(t *testing.T) {
	gen := func(n int, step time.Duration, fn func(i int, t time.Time) rec) []rec {
		return every(base, step, n, fn)
	}
	download := func(i int, t time.Time) rec {
		return audit(t, a{"databricks.service_name": "notebook", "databricks.action_name": "downloadPreviewResults"})
	}
	tests := []struct {
		name     string
		rule     string
		recs     []rec
		wantFire bool
		observed string
		severity string
	}{
		{"W01 five failures in 12m", "DBX-W01", gen(5, 3*time.Minute, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") }), true, "5", "medium"},
		{"W01 four failures", "DBX-W01", gen(4, 3*time.Minute, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") }), false, "", ""},
		{"W01 five failures over 2h", "DBX-W01", gen(5, 30*time.Minute, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") }), false, "", ""},
		{"W01 successes do not count", "DBX-W01", gen(8, time.Minute, func(_ int, t time.Time) rec { return okLogin(t, "alice@corp.com", "198.51.100.7") }), false, "", ""},
		{"W01b spray over 10 users", "DBX-W01b", gen(10, time.Minute, func(i int, t time.Time) rec {
			return failedLogin(t, fmt.Sprintf("user%d@corp.com", i), "203.0.113.99")
		}), true, "10", "high"},
		{"W01b same user ten times", "DBX-W01b", gen(10, time.Minute, func(_ int, t time.Time) rec { return failedLogin(t, "bob@corp.com", "203.0.113.99") }), false, "", ""},
		{"W01b spray from private address", "DBX-W01b", gen(12, time.Minute, func(i int, t time.Time) rec {
			return failedLogin(t, fmt.Sprintf("user%d@corp.com", i), "10.0.0.9")
		}), false, "", ""},
		{"W02 failures then success", "DBX-W02", append(gen(5, time.Minute, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") }),
			okLogin(base.Add(10*time.Minute), "alice@corp.com", "198.51.100.7")), true, "", "high"},
		{"W02 success first", "DBX-W02", append([]rec{okLogin(base.Add(-time.Minute), "alice@corp.com", "198.51.100.7")},
			gen(5, time.Minute, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") })...), false, "", ""},
		{"W02 success after the window", "DBX-W02", append(gen(5, time.Minute, func(_ int, t time.Time) rec { return failedLogin(t, "alice@corp.com", "198.51.100.7") }),
			okLogin(base.Add(2*time.Hour), "alice@corp.com", "198.51.100.7")), false, "", ""},
		{"W04 21 downloads", "DBX-W04", gen(21, time.Minute, download), true, "21", "medium"},
		{"W04 20 downloads", "DBX-W04", gen(20, time.Minute, download), false, "", ""},
		{"W04 source exports do not count", "DBX-W04", gen(25, time.Minute, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.service_name": "workspace", "databricks.action_name": "workspaceExport", "databricks.request_params.workspaceExportFormat": "SOURCE"})
		}), false, "", ""},
		{"W05 ten distinct secrets", "DBX-W05", gen(10, time.Minute, func(i int, t time.Time) rec {
			return audit(t, a{"databricks.service_name": "secrets", "databricks.action_name": "getSecret", "databricks.request_params.scope": "prod", "databricks.request_params.key": fmt.Sprintf("k%d", i)})
		}), true, "10", "high"},
		{"W05 one secret read often", "DBX-W05", gen(30, time.Minute, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.service_name": "secrets", "databricks.action_name": "getSecret", "databricks.request_params.scope": "prod", "databricks.request_params.key": "db-password"})
		}), false, "", ""},
		{"W05 System-User filtered", "DBX-W05", gen(12, time.Minute, func(i int, t time.Time) rec {
			return audit(t, a{"databricks.action_name": "getSecret", "user.email": "System-User", "databricks.request_params.scope": "s", "databricks.request_params.key": fmt.Sprintf("k%d", i)})
		}), false, "", ""},
		{"W06 25 permission changes", "DBX-W06", gen(25, time.Minute, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.service_name": "clusters", "databricks.action_name": "changeClusterAcl"})
		}), true, "25", "high"},
		{"W06 24 permission changes", "DBX-W06", gen(24, time.Minute, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.service_name": "clusters", "databricks.action_name": "changeClusterAcl"})
		}), false, "", ""},
		{"W07 26 denied UC calls", "DBX-W07", gen(26, time.Minute, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.action_name": "getTable", "http.response.status_code": int64(403)})
		}), true, "26", "medium"},
		{"W07 25 denied UC calls", "DBX-W07", gen(25, time.Minute, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.action_name": "getTable", "http.response.status_code": int64(403)})
		}), false, "", ""},
		{"W08 50 deletes in a day", "DBX-W08", gen(50, 20*time.Minute, func(i int, t time.Time) rec {
			return audit(t, a{"databricks.service_name": "clusters", "databricks.action_name": []string{"delete", "deleteTable", "permanentDelete", "moveToTrash"}[i%4]})
		}), true, "50", "high"},
		{"W08 49 deletes", "DBX-W08", gen(49, 20*time.Minute, func(_ int, t time.Time) rec {
			return audit(t, a{"databricks.service_name": "clusters", "databricks.action_name": "deleteTable"})
		}), false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			got := withRule(h.feed(tt.recs...), tt.rule)
			if !tt.wantFire {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1, "a burst gives one finding")
			f := got[0]
			assert.Equal(t, tt.severity, attrStr(f, "anomaly.severity"))
			if tt.observed != "" {
				assert.Equal(t, tt.observed, attrStr(f, "anomaly.baseline.observed"))
				assert.Equal(t, "threshold", attrStr(f, "anomaly.detector"))
			}
			ids, ok := f.Attributes().Get("databricks.event_ids")
			require.True(t, ok)
			assert.LessOrEqual(t, ids.Slice().Len(), 10)
			assert.Positive(t, ids.Slice().Len())
			assert.NotEqual(t, attrStr(f, "alert.first_event_time"), attrStr(f, "alert.last_event_time"))
		})
	}
}
