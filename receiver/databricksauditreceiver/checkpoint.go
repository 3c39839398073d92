package databricksauditreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// checkpointKey is the one storage key of an instance; the storage extension already scopes
// keys by component id, so one key per instance is enough.
const checkpointKey = "checkpoint"

// checkpointStore keeps a source's checkpoint as JSON in the storage extension. Without a
// configured extension it holds nothing across restarts (storage.NewNopClient).
type checkpointStore struct {
	client storage.Client
}

func newCheckpointStore(ctx context.Context, host component.Host, storageID *component.ID, owner component.ID) (*checkpointStore, error) {
	if storageID == nil {
		return &checkpointStore{client: storage.NewNopClient()}, nil
	}
	ext, ok := host.GetExtensions()[*storageID]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q not found", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", storageID)
	}
	client, err := se.GetClient(ctx, component.KindReceiver, owner, "")
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &checkpointStore{client: client}, nil
}

// load fills v from the stored checkpoint and reports whether there was one.
func (s *checkpointStore) load(ctx context.Context, v any) (bool, error) {
	data, err := s.client.Get(ctx, checkpointKey)
	if err != nil || data == nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("checkpoint is not valid JSON: %w", err)
	}
	return true, nil
}

func (s *checkpointStore) save(ctx context.Context, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.client.Set(ctx, checkpointKey, data)
}

func (s *checkpointStore) close(ctx context.Context) error {
	return s.client.Close(ctx)
}

// lagSince is the checkpoint lag of a source whose progress mark is unixNano (0 = no mark yet,
// so no lag to report).
func lagSince(now time.Time, unixNano int64) (time.Duration, bool) {
	if unixNano == 0 {
		return 0, false
	}
	return now.Sub(time.Unix(0, unixNano)), true
}
