// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/engine"
	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
)

// Handoff operations, the values of the failures counter's attribute.
const (
	handoffOpLoad    = "load"
	handoffOpWrite   = "write"
	handoffOpCleanup = "cleanup"
)

const (
	handoffFileSuffix = ".json"
	handoffTempPrefix = ".tmp-"
	// Listing a directory of one file per identity is not free on NFS, and
	// snapshots only expire after entity_idle_ttl (months): hourly is plenty.
	handoffCleanupEvery = time.Hour
	// A temporary file this old was left by a writer that died mid-write.
	handoffTempMaxAge = time.Hour
	// An unreachable volume fails every load: one warning per operation and
	// interval, carrying the count, instead of one per identity.
	handoffLogEvery = time.Minute
	// handoffWriters write snapshots in parallel.
	handoffWriters = 4
)

// handoffStore keeps one snapshot file per identity in a directory every
// instance mounts. A file is replaced atomically (temporary file + rename
// in the same directory) and carries its version twice: inside, and as its
// modification time, so a writer can see a newer snapshot with one stat and
// the clean-up can expire files without reading them.
type handoffStore struct {
	dir    string
	ttl    time.Duration
	logger *zap.Logger
	tb     *metadata.TelemetryBuilder

	logMu       sync.Mutex
	lastLog     map[string]time.Time
	unlogged    map[string]int
	lastCleanup time.Time
}

func newHandoffStore(cfg *Config, logger *zap.Logger, tb *metadata.TelemetryBuilder) *handoffStore {
	return &handoffStore{
		dir:      cfg.Handoff.Directory,
		ttl:      cfg.State.EntityIdleTTL,
		logger:   logger,
		tb:       tb,
		lastLog:  map[string]time.Time{},
		unlogged: map[string]int{},
	}
}

// path spreads the files over 256 sub-directories so that no directory
// holds all identities; the name is a hash because identities are e-mail
// addresses and service principal names, not file names.
func (s *handoffStore) path(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	name := hex.EncodeToString(sum[:16])
	return filepath.Join(s.dir, name[:2], name+handoffFileSuffix)
}

// load returns the identity's snapshot when it is newer than newerThan,
// nil when there is none. The modification time answers that without
// reading the file, which is what most rechecks of a running owner find.
func (s *handoffStore) load(_ context.Context, identity string, newerThan int64) (*engine.HandoffSnapshot, error) {
	path := s.path(identity)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.ModTime().After(time.Unix(0, newerThan)) {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // expired by a clean-up in between
	}
	if err != nil {
		return nil, err
	}
	var snap engine.HandoffSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &snap, nil
}

// write stores snap unless the file already holds a newer version (another
// owner saw a later record of the identity). It reports whether it wrote.
func (s *handoffStore) write(snap *engine.HandoffSnapshot) (bool, error) {
	path := s.path(snap.Identity)
	version := time.Unix(0, snap.Version)
	if fi, err := os.Stat(path); err == nil && fi.ModTime().After(version) {
		return false, nil
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return false, err
	}
	// O_EXCL with a random name: writers in other pods may share the PID.
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf("%s%s-%016x", handoffTempPrefix, filepath.Base(path), rand.Uint64()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o660)
	if errors.Is(err, fs.ErrNotExist) {
		// First file of this shard (or the directory was removed): create
		// it only then, not on every write.
		if err = os.MkdirAll(filepath.Dir(path), 0o770); err == nil {
			f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o660)
		}
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, version, version)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return false, err
	}
	return true, nil
}

// cleanupDue reports whether an hour passed since the last clean-up.
func (s *handoffStore) cleanupDue(now time.Time) bool {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if now.Sub(s.lastCleanup) < handoffCleanupEvery {
		return false
	}
	s.lastCleanup = now
	return true
}

// cleanup bounds the directory: snapshots whose identity has been idle for
// entity_idle_ttl (the owner forgot it too) and temporary files of writers
// that died are deleted. watermark is this instance's newest event time.
func (s *handoffStore) cleanup(watermark int64, now time.Time) (int, error) {
	if s.ttl <= 0 || watermark == 0 {
		return 0, nil
	}
	cutoff := time.Unix(0, watermark-int64(s.ttl))
	shards, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, shard := range shards {
		if !shard.IsDir() || len(shard.Name()) != 2 {
			continue
		}
		dir := filepath.Join(s.dir, shard.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, en := range entries {
			info, err := en.Info()
			if err != nil {
				continue // removed by another instance meanwhile
			}
			name := en.Name()
			expired := strings.HasSuffix(name, handoffFileSuffix) && info.ModTime().Before(cutoff)
			abandoned := strings.HasPrefix(name, handoffTempPrefix) && now.Sub(info.ModTime()) > handoffTempMaxAge
			if !expired && !abandoned {
				continue
			}
			if err := os.Remove(filepath.Join(dir, name)); err == nil {
				removed++
			} else if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return removed, errors.Join(errs...)
}

// failed counts a failed operation and logs it, at most once per
// handoffLogEvery and operation.
func (s *handoffStore) failed(op string, n int, err error) {
	s.tb.AccessAnomalyHandoffFailures.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("operation", op)))
	s.logMu.Lock()
	now := time.Now()
	if now.Sub(s.lastLog[op]) < handoffLogEvery {
		s.unlogged[op] += n
		s.logMu.Unlock()
		return
	}
	s.lastLog[op] = now
	suppressed := s.unlogged[op]
	s.unlogged[op] = 0
	s.logMu.Unlock()
	s.logger.Warn("access_anomaly: state handoff failed; processing continues with the local state (identities affected relearn)",
		zap.String("operation", op), zap.String("directory", s.dir), zap.Int("failures", n),
		zap.Int("failures_not_logged_since_last_warning", suppressed), zap.Error(err))
}

// writeHandoff writes the changed identities; the ones that could not be
// written are kept for the next call. With cleanup, it also expires old
// snapshots when that is due (not on shutdown, which should be quick).
func (p *anomalyProcessor) writeHandoff(ctx context.Context, eng *engine.Engine, cleanup bool) {
	store := p.handoff
	if store == nil {
		return
	}
	p.handoffMu.Lock()
	defer p.handoffMu.Unlock()
	snaps := eng.HandoffSnapshots()
	results := make([]error, len(snaps))
	wrote := make([]bool, len(snaps))
	// Each write is a handful of metadata operations: on a network volume
	// they wait for round trips, so a few run at once.
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(handoffWriters, len(snaps)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				wrote[i], results[i] = store.write(&snaps[i])
			}
		}()
	}
	for i := range snaps {
		if ctx.Err() != nil {
			for j := i; j < len(snaps); j++ {
				results[j] = ctx.Err()
			}
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var retry []engine.HandoffSnapshot
	var lastErr error
	written, superseded := 0, 0
	for i, err := range results {
		switch {
		case err != nil:
			retry = append(retry, snaps[i])
			lastErr = err
		case wrote[i]:
			written++
		default:
			superseded++
		}
	}
	if written > 0 {
		p.tb.AccessAnomalyHandoffWrites.Add(ctx, int64(written), metric.WithAttributes(attribute.String("result", "written")))
	}
	if superseded > 0 {
		p.tb.AccessAnomalyHandoffWrites.Add(ctx, int64(superseded), metric.WithAttributes(attribute.String("result", "superseded")))
	}
	if len(retry) > 0 {
		store.failed(handoffOpWrite, len(retry), lastErr)
		eng.RequeueHandoff(retry)
	}
	if now := time.Now(); cleanup && store.cleanupDue(now) {
		if removed, err := store.cleanup(eng.Watermark(), now); err != nil {
			store.failed(handoffOpCleanup, 1, err)
		} else if removed > 0 {
			p.logger.Debug("access_anomaly: expired handoff snapshots removed", zap.Int("files", removed))
		}
	}
}
