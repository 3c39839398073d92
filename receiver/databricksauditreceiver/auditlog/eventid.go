package auditlog

import (
	"encoding/hex"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// eventID derives a stable id for sources that carry none (delivery files, Azure records) from
// the fields that identify the event, in the spirit of Overwatch's
// xxhash64(orgId, timestamp, serviceName, actionName, requestId, requestParams). Request
// parameters are combined order-independently, so re-serialising a record with its keys in
// another order keeps the id. Two 64-bit hashes with different seeds give 128 bits, the length
// of the system table's event_id.
func eventID(e *Event) string {
	var scratch [20]byte
	var paramSum uint64
	for i := range e.Params {
		var d xxhash.Digest
		d.Reset()
		_, _ = d.WriteString(e.Params[i].Key)
		_, _ = d.Write([]byte{0})
		_, _ = d.WriteString(e.Params[i].Value)
		paramSum += d.Sum64()
	}
	var out [16]byte
	for half, seed := range [2]uint64{0, 0x9e3779b97f4a7c15} {
		var d xxhash.Digest
		d.ResetWithSeed(seed)
		for _, f := range [...]string{
			e.WorkspaceID, e.AccountID, e.ServiceName, e.ActionName, e.RequestID, e.SessionID,
			e.Email, e.SourceIP, e.UserAgent, e.ErrorMsg, e.Result,
		} {
			_, _ = d.WriteString(f)
			_, _ = d.Write([]byte{0})
		}
		_, _ = d.Write(strconv.AppendInt(scratch[:0], e.Time.UnixNano(), 10))
		_, _ = d.Write(strconv.AppendInt(scratch[:0], int64(e.StatusCode), 10))
		_, _ = d.Write(strconv.AppendUint(scratch[:0], paramSum, 10))
		sum := d.Sum64()
		for i := 0; i < 8; i++ {
			out[half*8+i] = byte(sum >> (56 - 8*i))
		}
	}
	return hex.EncodeToString(out[:])
}
