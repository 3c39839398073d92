package auditlog

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// eventIDSeeds are the seeds of the two 64-bit hashes that make up an event id.
var eventIDSeeds = [2]uint64{0, 0x9e3779b97f4a7c15}

// eventID derives a stable id for sources that carry none (delivery files, Azure records) from
// the fields that identify the event, in the spirit of Overwatch's
// xxhash64(orgId, timestamp, serviceName, actionName, requestId, requestParams). Request
// parameters are combined order-independently, so re-serialising a record with its keys in
// another order keeps the id. Two 64-bit hashes with different seeds give 128 bits, the length
// of the system table's event_id.
//
// The ids are stored by back ends that deduplicate on them, so their bytes must never change:
// the input is laid out once in e.hashBuf and hashed in one call per seed, which gives the same
// sums as streaming the pieces into a digest (TestEventIDMatchesStreamedDigests).
func eventID(e *Event) string {
	buf := e.hashBuf[:0]
	var paramSum uint64
	for i := range e.Params {
		buf = append(buf[:0], e.Params[i].Key...)
		buf = append(buf, 0)
		buf = append(buf, e.Params[i].Value...)
		paramSum += xxhash.Sum64(buf)
	}
	buf = buf[:0]
	for _, f := range [...]string{
		e.WorkspaceID, e.AccountID, e.ServiceName, e.ActionName, e.RequestID, e.SessionID,
		e.Email, e.SourceIP, e.UserAgent, e.ErrorMsg, e.Result,
	} {
		buf = append(buf, f...)
		buf = append(buf, 0)
	}
	buf = strconv.AppendInt(buf, e.Time.UnixNano(), 10)
	buf = strconv.AppendInt(buf, int64(e.StatusCode), 10)
	buf = strconv.AppendUint(buf, paramSum, 10)
	e.hashBuf = buf

	var out [16]byte
	for half, seed := range eventIDSeeds {
		var d xxhash.Digest
		d.ResetWithSeed(seed)
		_, _ = d.Write(buf)
		binary.BigEndian.PutUint64(out[half*8:], d.Sum64())
	}
	return hex.EncodeToString(out[:])
}
