// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"context"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Storage keys. Each source keeps its own record so that a failure to save one (e.g. a huge
// identity snapshot) cannot corrupt the cursors of another.
const (
	stateKeyClusters     = "clusters"
	stateKeyJobs         = "jobs"
	stateKeyIdentity     = "identity"
	stateKeyNodeTimeline = "node_timeline"
	stateKeyBilling      = "billing"
)

// clustersState holds the per-cluster event cursors.
type clustersState struct {
	// InitializedAt (epoch ms) is when this receiver first ran: clusters without a cursor read
	// their events from here, so a first start emits no history and a new cluster misses nothing.
	InitializedAt int64                     `json:"initialized_at"`
	Clusters      map[string]*clusterCursor `json:"clusters"`
}

type clusterCursor struct {
	// Fingerprint of the cluster's state fields when its events were last read.
	Fingerprint string `json:"fingerprint"`
	// StablePolls counts event reads since the fingerprint last changed; terminal clusters are
	// read a couple more times after a change so that an event published just after the state
	// change is not missed.
	StablePolls int `json:"stable_polls"`
	// CursorMillis is the timestamp of the newest event emitted; SeenAtCursor holds the
	// fingerprints of the events emitted with exactly that timestamp (events carry no id).
	CursorMillis int64    `json:"cursor_ms"`
	SeenAtCursor []string `json:"seen_at_cursor,omitempty"`
}

// jobsState tracks which runs were already reported and which were still active.
type jobsState struct {
	InitializedAt int64 `json:"initialized_at"`
	// QueriedUntil (epoch ms) is when the last completed-runs query ran; the next one starts
	// at QueriedUntil - runOverlap.
	QueriedUntil int64 `json:"queried_until"`
	// Active runs seen in the last scrape: a run that started before the query window and
	// finished since is fetched individually by job id and start time.
	Active map[int64]trackedRun `json:"active"`
	// Emitted runs (id -> start time), pruned once they fall out of the query window.
	Emitted map[int64]int64 `json:"emitted"`
}

type trackedRun struct {
	JobID     int64 `json:"job_id"`
	StartTime int64 `json:"start_time"`
}

// identityState is the last identity snapshot.
type identityState struct {
	TakenAt    int64                     `json:"taken_at"` // epoch ms; 0 = no snapshot yet
	Principals map[string]principalEntry `json:"principals"`
	Groups     map[string]groupEntry     `json:"groups"`
	Admins     []string                  `json:"admins"`
}

type principalEntry struct {
	Kind string `json:"kind"` // user | service_principal | group
	Name string `json:"name"`
	// Listed is false for members known only from a group's member list (e.g. account-level
	// principals): they name memberships but are not counted or reported as created/deleted.
	Listed bool `json:"listed,omitempty"`
}

type groupEntry struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// tableState is the watermark of one incremental system-table query.
type tableState struct {
	QueriedUntil int64 `json:"queried_until"` // epoch ms of the last query's upper bound
	// Seen maps a hash of each reported row's key to its time (epoch ms); rows re-read inside
	// the lateness window are skipped, entries older than the window are pruned.
	Seen map[uint64]int64 `json:"seen"`
}

// stateStore reads and writes JSON records in the storage extension (or a nop client).
type stateStore struct {
	client storage.Client
}

func (s stateStore) load(ctx context.Context, key string, v any) (bool, error) {
	raw, err := s.client.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("storage get %q: %w", key, err)
	}
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("storage decode %q: %w", key, err)
	}
	return true, nil
}

func (s stateStore) save(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("storage encode %q: %w", key, err)
	}
	if err := s.client.Set(ctx, key, raw); err != nil {
		return fmt.Errorf("storage set %q: %w", key, err)
	}
	return nil
}
