package auditlog

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// streamedEventID is eventID as first written: every piece streamed into two digests. Ids are
// stored by deduplicating back ends, so the one-buffer version must give exactly these bytes.
func streamedEventID(e *Event) string {
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

func TestEventIDMatchesStreamedDigests(t *testing.T) {
	long := string(make([]byte, 100)) // longer than a digest's 32-byte block
	events := []Event{
		{},
		{WorkspaceID: "1", ServiceName: "accounts", ActionName: "tokenLogin", Time: time.UnixMilli(1735725600123)},
		{
			WorkspaceID: "4839201746501234", AccountID: "acc", ServiceName: "unityCatalog",
			ActionName: "getTable", RequestID: "r", SessionID: "s", Email: "é@example.com",
			SourceIP: "10.0.0.1", UserAgent: long, ErrorMsg: "denied", Result: "x",
			StatusCode: 403, HasStatus: true, Time: time.Unix(1, 5),
			Params: []Param{{"table_full_name", "a.b.c"}, {"k", long}, {"", ""}},
		},
	}
	// And every reference record, through the parser's own event (its scratch buffer reused).
	p := fixedParser(CloudAWS)
	for _, line := range readLines(t, "testdata/delivery_reference.jsonl") {
		_, err := p.ParseDeliveryLine(line, "", plog.NewLogRecord())
		require.NoError(t, err)
		ev := p.ev
		ev.Params = append([]Param(nil), p.ev.Params...)
		ev.hashBuf = nil
		events = append(events, ev)
	}
	shared := &Event{}
	for i := range events {
		want := streamedEventID(&events[i])
		assert.Equal(t, want, eventID(&events[i]), "event %d", i)
		// With a scratch buffer left over from another event.
		buf := shared.hashBuf
		*shared = events[i]
		shared.hashBuf = buf
		assert.Equal(t, want, eventID(shared), "event %d, reused buffer", i)
	}
}

func TestCountMembers(t *testing.T) {
	for doc, want := range map[string]int{
		`{}`:                 0,
		`{ }`:                0,
		`{"a":1}`:            1,
		`{"a":1,"b":"x"}`:    2,
		`{"a":"x,y}","b":2}`: 2,
		`{"a":"q\"},\"","b":{"c":1,"d":2},"e":[1,2,{}]}`: 3,
		`{"a":[]}`:                        1,
		`{"a":{}, "b" : null , "c":true}`: 3,
	} {
		d := newDecoder()
		d.data = []byte(doc + `,"after":1}`) // what follows the object is not counted
		assert.Equal(t, want, d.countMembers(), doc)
	}
}

// TestDecoderAcrossLines decodes lines whose keys move between positions and whose interned
// values change, with one decoder, as the receiver does: what the previous line left in the
// decoder's caches must never leak into the next line's values.
func TestDecoderAcrossLines(t *testing.T) {
	lines := []string{
		`{"version":"2.0","serviceName":"accounts","actionName":"login","requestParams":{"a":"1"}}`,
		`{"version":"2.0","serviceName":"accounts","actionName":"logout","requestParams":{"a":"2","b":"3"}}`,
		`{"serviceName":"secrets","version":"2.0","actionName":"getSecret","requestParams":{}}`,
		`{"version":"2.1","actionName":"","serviceName":"accounts","requestParams":{"version":"x"}}`,
		`{"version":"2\u002e0","serviceName":"jobs","requestParams":{"serviceName":"nested"}}`,
		`{"actionName":"a","userAgent":"ua","orgId":"1"}`,
		`{"actionName":"b","userAgent":"ua","orgId":"2","extra":{"x":[1,{"y":"z"}]}}`,
		`{"version":"2.0","serviceName":"accounts","actionName":"login","requestParams":{"a":"1"}}`,
	}
	d := newDecoder()
	m := pcommon.NewMap()
	var previous []map[string]any
	for _, line := range lines {
		var want map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &want))
		require.NoError(t, d.decodeObject([]byte(line), m))
		assert.True(t, equalJSON(want, m.AsRaw()), "line %s decoded as %v", line, m.AsRaw())
		previous = append(previous, m.AsRaw())
	}
	// Values handed out earlier are not changed by decoding later lines.
	for i, line := range lines {
		var want map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &want))
		assert.True(t, equalJSON(want, previous[i]), "line %d changed to %v", i, previous[i])
	}
}

// TestDecodedValuesOutliveInput: values are substrings of a copy of the line, not of the
// caller's buffer, which the receiver reuses for the next line.
func TestDecodedValuesOutliveInput(t *testing.T) {
	buf := []byte(`{"serviceName":"accounts","requestId":"req-1","requestParams":{"path":"/a"}}`)
	lr := plog.NewLogRecord()
	_, err := fixedParser(CloudAWS).ParseDeliveryLine(buf, "1", lr)
	require.NoError(t, err)
	for i := range buf {
		buf[i] = 'X'
	}
	assert.Equal(t, "req-1", attr(t, lr, AttrRequestID))
	assert.Equal(t, "/a", attr(t, lr, AttrRequestParamPrefix+"path"))
	body := lr.Body().Map().AsRaw()
	assert.Equal(t, "accounts", body["serviceName"])
	assert.Equal(t, map[string]any{"path": "/a"}, body["requestParams"])
}

// TestBatchRemembersResourceOnlyWithinABatch: consecutive records of one resource share its
// ResourceLogs, and after Take the next record of that resource goes into the new batch, not
// into the one handed over.
func TestBatchRemembersResourceOnlyWithinABatch(t *testing.T) {
	line := []byte(`{"timestamp":1,"accountId":"acc","serviceName":"a","actionName":"b"}`)
	b := NewBatch(fixedParser(CloudAWS), "scope", "")
	for range 3 {
		require.NoError(t, b.AppendDeliveryLine(line, "1"))
	}
	first := b.Take()
	require.NoError(t, b.AppendDeliveryLine(line, "1"))
	second := b.Take()

	require.Equal(t, 1, first.ResourceLogs().Len())
	assert.Equal(t, 3, first.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().Len())
	assert.Equal(t, 3, first.LogRecordCount(), "the handed-over batch is not appended to")
	require.Equal(t, 1, second.ResourceLogs().Len())
	assert.Equal(t, 1, second.LogRecordCount())
	ws, _ := second.ResourceLogs().At(0).Resource().Attributes().Get(ResAttrWorkspaceID)
	assert.Equal(t, "1", ws.Str())
}
