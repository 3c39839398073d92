// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// FuzzLoadState feeds arbitrary bytes as every persisted record: a corrupt or foreign record
// must be reported as an error, never panic, and a state that loads must survive a scrape.
// Seed corpus: testdata/fuzz/FuzzLoadState.
func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{"initialized_at":1795694400000,"clusters":{"c":{"fingerprint":"x","cursor_ms":5,"seen_at_cursor":["a"]}}}`))
	f.Add([]byte(`{"active":{"50":{"job_id":22,"start_time":1}},"emitted":{"7":1},"queried_until":9}`))
	f.Add([]byte(`{"seen":{"123":4},"queried_until":-1}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"clusters":{"c":null}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		store := newMemStorage()
		for _, key := range []string{stateKeyClusters, stateKeyJobs, stateKeyIdentity, stateKeyNodeTimeline, stateKeyBilling} {
			require.NoError(t, store.Set(context.Background(), key, raw))
		}
		s := newDBXScraper(scraperParams{cfg: testConfig(), settings: fuzzSettings(), api: newWorkspaceAtT0(), storage: store,
			telemetry: fuzzTelemetry(t), now: func() time.Time { return t0 }, runCtx: context.Background()})
		if err := s.loadState(context.Background()); err != nil {
			return
		}
		_, err := s.scrape(context.Background())
		require.NoError(t, err)
	})
}

// FuzzClusterEvents decodes an events page as the API would return it and checks the cursor
// invariants: reading the same events again yields nothing, and the cursor never moves back.
// Seed corpus: testdata/fuzz/FuzzClusterEvents.
func FuzzClusterEvents(f *testing.F) {
	f.Add([]byte(`[{"cluster_id":"c","timestamp":10,"type":"RUNNING"},{"cluster_id":"c","timestamp":10,"type":"RESIZING","details":{"current_num_workers":1}}]`), int64(0))
	f.Add([]byte(`[{"cluster_id":"c","timestamp":5,"type":"CREATING"},{"cluster_id":"c","timestamp":1,"type":"RUNNING"}]`), int64(3))
	f.Add([]byte(`[]`), int64(-1))
	f.Fuzz(func(t *testing.T, raw []byte, cursor int64) {
		var events []compute.ClusterEvent
		if json.Unmarshal(raw, &events) != nil {
			return
		}
		cur := &clusterCursor{CursorMillis: cursor}
		fresh := advanceCursor(cur, events)
		require.GreaterOrEqual(t, cur.CursorMillis, cursor)
		for _, e := range fresh {
			require.GreaterOrEqual(t, e.Timestamp, cursor)
		}
		again := advanceCursor(cur, events)
		require.Empty(t, again)
	})
}

func fuzzSettings() receiverSettings {
	return receivertest.NewNopSettings(metadata.Type)
}

func fuzzTelemetry(t *testing.T) *metadata.TelemetryBuilder {
	tb, err := metadata.NewTelemetryBuilder(fuzzSettings().TelemetrySettings)
	require.NoError(t, err)
	return tb
}

type receiverSettings = receiver.Settings
