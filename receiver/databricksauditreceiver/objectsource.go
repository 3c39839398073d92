package databricksauditreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"gocloud.dev/blob"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/internal/metadata"
)

// objectPosition is how far an object has been read. Databricks rewrites delivered objects
// with extra lines appended, so a grown object is read on from Offset; LastByte (the byte just
// before Offset) detects an object whose earlier content changed, which is then re-read from
// the start with its first Lines lines skipped.
type objectPosition struct {
	Size     int64     `json:"size"` // size when last read
	ETag     string    `json:"etag,omitempty"`
	ModTime  time.Time `json:"mod_time"`
	Offset   int64     `json:"offset"` // bytes consumed, always at a line boundary
	Lines    int64     `json:"lines"`  // lines consumed
	LastByte byte      `json:"last_byte"`
}

// objectCheckpoint is what the object sources persist.
type objectCheckpoint struct {
	Objects map[string]objectPosition `json:"objects"`
	// LastFullScan is when the last scan that read every listed object started.
	LastFullScan time.Time `json:"last_full_scan"`
}

// defaultBatchSize bounds one ConsumeLogs call and the records held in memory.
const defaultBatchSize = 1000

// objectSource reads delivery or Azure diagnostic objects from a bucket, remembering per
// object how far it has read. Records reach the checkpoint only after the next consumer
// accepted them.
type objectSource struct {
	source    auditlog.Source
	cfg       ObjectConfig
	bucket    *blob.Bucket
	store     *checkpointStore
	deliverer *deliverer
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	batch     *auditlog.Batch
	batchSize int
	now       func() time.Time

	state   objectCheckpoint
	pending map[string]objectPosition // positions covered by the batch not yet delivered

	tracked      atomic.Int64
	lastFullScan atomic.Int64 // unix nanoseconds, for the checkpoint-lag gauge
}

func (s *objectSource) load(ctx context.Context) error {
	s.state = objectCheckpoint{Objects: map[string]objectPosition{}}
	s.pending = map[string]objectPosition{}
	found, err := s.store.load(ctx, &s.state)
	if err != nil {
		return err
	}
	if s.state.Objects == nil {
		s.state.Objects = map[string]objectPosition{}
	}
	if found {
		s.logger.Info("Resuming from checkpoint", zap.Int("objects_tracked", len(s.state.Objects)),
			zap.Time("last_full_scan", s.state.LastFullScan))
	}
	s.publish()
	return nil
}

func (s *objectSource) publish() {
	s.tracked.Store(int64(len(s.state.Objects)))
	if !s.state.LastFullScan.IsZero() {
		s.lastFullScan.Store(s.state.LastFullScan.UnixNano())
	}
}

func (s *objectSource) checkpointLag(now time.Time) (time.Duration, bool) {
	return lagSince(now, s.lastFullScan.Load())
}

// poll lists the bucket and reads what is new, oldest objects first.
func (s *objectSource) poll(ctx context.Context) error {
	scanStart := s.now()
	cutoff := scanStart.Add(-s.cfg.Retention)
	objects, err := listObjects(ctx, s.bucket, cutoff)
	if err != nil {
		return fmt.Errorf("listing objects: %w", err)
	}
	sort.Slice(objects, func(i, j int) bool {
		if !objects[i].modTime.Equal(objects[j].modTime) {
			return objects[i].modTime.Before(objects[j].modTime)
		}
		return objects[i].key < objects[j].key
	})
	complete := true
	listed := make(map[string]bool, len(objects))
	for _, obj := range objects {
		if obj.modTime.Before(cutoff) {
			continue // older than the retention window: never (re-)read
		}
		listed[obj.key] = true
		if err := s.readObject(ctx, obj); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			complete = false
			s.logger.Warn("Reading object failed; it is retried on the next poll", zap.String("object", obj.key), zap.Error(err))
		}
	}
	if err := s.flush(ctx); err != nil {
		return err
	}
	for key, pos := range s.state.Objects {
		if !listed[key] && pos.ModTime.Before(cutoff) {
			delete(s.state.Objects, key)
		}
	}
	if complete {
		s.state.LastFullScan = scanStart
	}
	s.publish()
	return s.store.save(ctx, &s.state)
}

// objectRejects logs malformed lines once per object and read, with the first position.
type objectRejects struct {
	key   string
	count int
}

func (s *objectSource) reject(ctx context.Context, r *objectRejects, n int, lineNo, offset int64, reason error) {
	if r.count == 0 {
		s.logger.Warn("Skipping malformed audit record; further ones in this object are only counted",
			zap.String("object", r.key), zap.Int64("line", lineNo), zap.Int64("byte_offset", offset), zap.Error(reason))
	}
	r.count += n
	s.telemetry.DatabricksAuditRecordsRejected.Add(ctx, int64(n))
}

// readObject reads obj from its last position into the batch, flushing full batches.
func (s *objectSource) readObject(ctx context.Context, obj listedObject) error {
	prev, known := s.state.Objects[obj.key]
	if known && obj.size == prev.Offset {
		if obj.size != prev.Size || obj.etag != prev.ETag || !obj.modTime.Equal(prev.ModTime) {
			prev.Size, prev.ETag, prev.ModTime = obj.size, obj.etag, obj.modTime
			s.pending[obj.key] = prev
		}
		return nil // nothing new
	}
	pos := prev
	if !known {
		pos = objectPosition{}
	}
	reader, skip, err := s.open(ctx, obj, &pos, known)
	if err != nil {
		return err
	}
	defer reader.Close()

	workspaceID := workspaceIDOf(obj.key)
	rejects := objectRejects{key: obj.key}
	defer func() {
		if rejects.count > 1 {
			s.logger.Warn("Skipped malformed audit records in object", zap.String("object", obj.key), zap.Int("count", rejects.count))
		}
	}()
	// An unterminated last line that does not parse may be a record still being appended
	// (local files, Azure append blobs); it is only rejected once the object stopped changing.
	settled := known && prev.Size == obj.size
	lines := newLineReader(reader, s.cfg.MaxLineSize, pos.Offset)
	for {
		ln, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if skip > 0 {
			skip--
			pos.advance(ln)
			continue
		}
		if !ln.tooLong && len(trimSpace(ln.data)) == 0 {
			pos.advance(ln)
			continue
		}
		s.telemetry.DatabricksAuditRecordsRead.Add(ctx, 1)
		lineNo := pos.Lines + 1
		switch {
		case ln.tooLong:
			s.reject(ctx, &rejects, 1, lineNo, ln.start, fmt.Errorf("line longer than max_line_size (%d bytes)", s.cfg.MaxLineSize))
		default:
			badElements, err := s.appendLine(ln.data, workspaceID)
			if err != nil {
				if !ln.terminated && !settled {
					return s.keep(obj, pos) // wait for the rest of the line
				}
				s.reject(ctx, &rejects, 1, lineNo, ln.start, err)
			} else if badElements > 0 {
				s.reject(ctx, &rejects, badElements, lineNo, ln.start, errors.New(`elements of "records" that are not objects`))
			}
		}
		pos.advance(ln)
		s.pending[obj.key] = s.withListing(pos, obj)
		if s.batch.Len() >= s.batchSize {
			if err := s.flush(ctx); err != nil {
				return err
			}
		}
	}
	return s.keep(obj, pos)
}

// appendLine decodes one line into the batch; for an Azure envelope it also returns how many
// of its elements were not records.
func (s *objectSource) appendLine(data []byte, workspaceID string) (badElements int, err error) {
	if s.source == auditlog.SourceAzureDiagnostics {
		_, badElements, err = s.batch.AppendAzureLine(data)
		return badElements, err
	}
	return 0, s.batch.AppendDeliveryLine(data, workspaceID)
}

// keep records pos (with the object's current listing data) as reached by this read.
func (s *objectSource) keep(obj listedObject, pos objectPosition) error {
	s.pending[obj.key] = s.withListing(pos, obj)
	return nil
}

func (s *objectSource) withListing(pos objectPosition, obj listedObject) objectPosition {
	pos.Size, pos.ETag, pos.ModTime = obj.size, obj.etag, obj.modTime
	return pos
}

func (p *objectPosition) advance(ln line) {
	p.Offset = ln.end
	p.Lines++
	p.LastByte = ln.lastByte
}

// open returns a reader positioned at pos.Offset, or at the start with the number of lines to
// skip when the object no longer continues the content read before (pos is reset then).
func (s *objectSource) open(ctx context.Context, obj listedObject, pos *objectPosition, known bool) (io.ReadCloser, int64, error) {
	if !known || pos.Offset == 0 {
		r, err := s.bucket.NewRangeReader(ctx, obj.key, 0, -1, nil)
		return r, 0, err
	}
	if obj.size > pos.Offset {
		r, err := s.bucket.NewRangeReader(ctx, obj.key, pos.Offset-1, -1, nil)
		if err != nil {
			return nil, 0, err
		}
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err == nil && b[0] == pos.LastByte {
			return r, 0, nil
		}
		_ = r.Close()
	}
	skip := pos.Lines
	s.logger.Warn("Object was replaced rather than extended; re-reading it and skipping the lines already emitted",
		zap.String("object", obj.key), zap.Int64("lines_skipped", skip), zap.Int64("previous_offset", pos.Offset), zap.Int64("size", obj.size))
	*pos = objectPosition{}
	r, err := s.bucket.NewRangeReader(ctx, obj.key, 0, -1, nil)
	return r, skip, err
}

// flush delivers the batch and then commits the positions it covered.
func (s *objectSource) flush(ctx context.Context) error {
	if len(s.pending) == 0 && s.batch.Len() == 0 {
		return nil
	}
	if err := s.deliverer.deliver(ctx, s.batch.Take()); err != nil {
		return err
	}
	for key, pos := range s.pending {
		s.state.Objects[key] = pos
	}
	clear(s.pending)
	s.publish()
	return s.store.save(ctx, &s.state)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
