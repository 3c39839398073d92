package auditlog

import (
	"go.opentelemetry.io/collector/pdata/plog"
)

// Batch collects normalised records into plog.Logs, one ResourceLogs per resource (workspace,
// account, cloud), so that resource attributes are set once and records of one workspace stay
// together for the processors downstream.
type Batch struct {
	parser       *Parser
	scopeName    string
	scopeVersion string
	logs         plog.Logs
	byResource   map[Resource]plog.LogRecordSlice
	// last is the resource of the previous record and its records: consecutive records nearly
	// always share it (one object = one workspace), which spares hashing four strings per record.
	last        Resource
	lastRecords plog.LogRecordSlice
	hasLast     bool
	scratch     plog.LogRecord
	count       int
}

// NewBatch returns an empty batch whose records are decoded by p and placed under the
// instrumentation scope scopeName/scopeVersion.
func NewBatch(p *Parser, scopeName, scopeVersion string) *Batch {
	b := &Batch{parser: p, scopeName: scopeName, scopeVersion: scopeVersion, scratch: plog.NewLogRecord()}
	b.reset()
	return b
}

func (b *Batch) reset() {
	b.logs = plog.NewLogs()
	b.byResource = make(map[Resource]plog.LogRecordSlice)
	b.last, b.lastRecords, b.hasLast = Resource{}, plog.LogRecordSlice{}, false
	b.count = 0
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return b.count }

// Take hands over the records collected so far and empties the batch.
func (b *Batch) Take() plog.Logs {
	ld := b.logs
	b.reset()
	return ld
}

// NewRecord appends an empty record under res. Callers that decode records themselves (the
// system table path) fill it.
func (b *Batch) NewRecord(res Resource) plog.LogRecord {
	if b.hasLast && res == b.last {
		b.count++
		return b.lastRecords.AppendEmpty()
	}
	records, ok := b.byResource[res]
	if !ok {
		rl := b.logs.ResourceLogs().AppendEmpty()
		res.CopyTo(rl.Resource().Attributes())
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(b.scopeName)
		sl.Scope().SetVersion(b.scopeVersion)
		records = sl.LogRecords()
		b.byResource[res] = records
	}
	b.last, b.lastRecords, b.hasLast = res, records, true
	b.count++
	return records.AppendEmpty()
}

// AppendDeliveryLine decodes a delivery line (see Parser.ParseDeliveryLine) into the batch.
// A line that does not decode leaves the batch unchanged.
func (b *Batch) AppendDeliveryLine(line []byte, workspaceID string) error {
	b.scratch.Attributes().Clear() // the parser replaces the Body itself
	res, err := b.parser.ParseDeliveryLine(line, workspaceID, b.scratch)
	if err != nil {
		return err
	}
	b.scratch.MoveTo(b.NewRecord(res))
	return nil
}

// AppendAzureLine decodes a line of an Azure resource-log file (see Parser.ParseAzureLine)
// into the batch and returns how many records it added and how many envelope elements it had
// to reject. A line that does not decode leaves the batch unchanged.
func (b *Batch) AppendAzureLine(line []byte) (added, rejected int, err error) {
	b.scratch.Attributes().Clear()
	return b.parser.ParseAzureLine(line, b.NewRecord, b.scratch)
}
