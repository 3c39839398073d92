package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// maxFuzzInput keeps inputs to the size of real lines; longer lines are rejected before they
// reach the parser (the receiver's max_line_size).
const maxFuzzInput = 64 << 10

// FuzzParseDeliveryLine: any input either fails cleanly or yields a schema-conformant record.
func FuzzParseDeliveryLine(f *testing.F) {
	f.Add([]byte(`{"version":"2.0","timestamp":1735725600123,"orgId":"1","userIdentity":{"email":"a@b.c"},"serviceName":"accounts","actionName":"tokenLogin","requestParams":{"user":"a@b.c"},"response":{"statusCode":200}}`))
	f.Add([]byte(`{"timestamp":"x","requestParams":"{\"a\":[1,{\"b\":null}]}","response":"{\"statusCode\":\"503\"}"}`))
	b := NewBatch(NewParser(), "fuzz", "")
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) > maxFuzzInput {
			return
		}
		before := b.Len()
		if err := b.AppendDeliveryLine(line, "1"); err != nil {
			if b.Len() != before {
				t.Fatal("a rejected line added a record")
			}
			return
		}
		checkRecords(t, b.Take(), SourceDelivery)
	})
}

// FuzzParseAzureLine: the same for Azure records and envelopes.
func FuzzParseAzureLine(f *testing.F) {
	f.Add([]byte(`{"records":[{"time":"2025-01-01T10:00:00Z","category":"accounts","identity":"{\"email\":\"x@y.z\"}","properties":{"requestParams":"{\"a\":\"b\"}","response":"{\"statusCode\":200}"}}]}`))
	f.Add([]byte(`{"time":"2025-01-01T10:00:00Z","operationName":"Microsoft.Databricks/a/b","properties":"{\"actionName\":\"x\"}"}`))
	b := NewBatch(NewParser(), "fuzz", "")
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) > maxFuzzInput {
			return
		}
		added, _, err := b.AppendAzureLine(line)
		if err != nil {
			if added != 0 || b.Len() != 0 {
				t.Fatal("a rejected line added records")
			}
			return
		}
		if b.Len() != added {
			t.Fatalf("batch has %d records, parser reported %d", b.Len(), added)
		}
		checkRecords(t, b.Take(), SourceAzureDiagnostics)
	})
}

func checkRecords(t *testing.T, ld plog.Logs, source Source) {
	t.Helper()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		records := ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
		for j := 0; j < records.Len(); j++ {
			lr := records.At(j)
			attrs := lr.Attributes()
			if v, _ := attrs.Get(AttrEventName); v.Str() != EventName {
				t.Fatalf("event.name = %q", v.Str())
			}
			if v, _ := attrs.Get(AttrAuditSource); v.Str() != string(source) {
				t.Fatalf("source = %q", v.Str())
			}
			if v, _ := attrs.Get(AttrEventID); len(v.Str()) != 32 {
				t.Fatalf("event id %q", v.Str())
			}
			if lr.Body().Type() != pcommon.ValueTypeMap {
				t.Fatal("body is not a map")
			}
		}
	}
	// What the receiver emits must survive OTLP encoding (valid UTF-8 everywhere).
	if _, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecoderMatchesEncodingJSON checks the hand-written scanner against encoding/json: it
// accepts the same objects and decodes them to the same values.
func FuzzDecoderMatchesEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"a":"\u00e9\ud83d\ude00","b":[1,-2.5e3,true,false,null],"c":{"d":"\\\"/\b\f\n\r\t"}}`))
	f.Add([]byte(`{"a":1e400}`))
	f.Add([]byte(`{"a":"\ud800x"}`))
	d := newDecoder()
	m := pcommon.NewMap()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		var want map[string]any
		stdErr := json.Unmarshal(data, &want)
		var typeErr *json.UnmarshalTypeError
		if errors.As(stdErr, &typeErr) {
			return // e.g. 1e400: encoding/json refuses the value, we keep its digits
		}
		gotErr := d.decodeObject(data, m)
		trimmed := bytes.TrimSpace(data)
		if stdErr == nil && (len(trimmed) == 0 || trimmed[0] != '{') {
			return // valid JSON but not an object (e.g. null): we reject it on purpose
		}
		if errors.Is(gotErr, errTooDeep) {
			return
		}
		if (stdErr == nil) != (gotErr == nil) {
			t.Fatalf("encoding/json err=%v, decoder err=%v for %q", stdErr, gotErr, data)
		}
		if gotErr != nil {
			return
		}
		if !equalJSON(want, m.AsRaw()) {
			t.Fatalf("decoded %v, encoding/json %v", m.AsRaw(), want)
		}
	})
}

// equalJSON compares encoding/json's values with ours (which keep integers as int64).
func equalJSON(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !equalJSON(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equalJSON(w[i], g[i]) {
				return false
			}
		}
		return true
	case float64:
		switch g := got.(type) {
		case int64:
			return float64(g) == w
		case float64:
			return g == w || (math.IsNaN(g) && math.IsNaN(w))
		}
		return false
	}
	return reflect.DeepEqual(want, got)
}
