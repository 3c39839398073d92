package auditlog

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"
)

// stringBodyEdgeCases are delivery lines where reading fields from the text could part from
// reading them from the decoded map: duplicate keys, nulls, JSON-encoded sub-documents, the
// snake_case spellings, escapes in keys, invalid UTF-8, non-string scalars.
var stringBodyEdgeCases = []string{
	`{"timestamp":1735725600123,"orgId":7,"serviceName":"accounts","actionName":"tokenLogin","requestParams":{"a":"1","b":2,"a":"3","c":null,"d":{"e":[1,"x"]}},"response":{"statusCode":401,"errorMessage":"no"}}`,
	`{"requestParams":{"a":"1"},"requestParams":{"b":"2","b":null}}`,
	`{"userIdentity":{"email":"a@b.c"},"userIdentity":"{\"email\":\"d@e.f\"}"}`,
	`{"userIdentity":"{\"email\":\"d@e.f\"}","userIdentity":{"name":"x"}}`,
	`{"response":{"status_code":"503","error_message":"down","result":null}}`,
	`{"response":{"statusCode":null,"status_code":404,"errorMessage":null,"error_message":"gone"}}`,
	`{"response":{"statusCode":{"x":1},"status_code":404}}`,
	`{"response":"{\"statusCode\":500,\"result\":\"r\"}"}`,
	`{"identityMetadata":null,"identity_metadata":{"run_by":"svc@x","runAs":"u@x"}}`,
	`{"identityMetadata":{"runBy":null,"run_by":"a"},"identity_metadata":{"run_by":"b"}}`,
	`{"identityMetadata":"{\"runAs\":\"c\"}"}`,
	`{"identityMetadata":7,"identity_metadata":{"run_by":"b"}}`,
	`{"user\u0049dentity":{"em\u0061il":"esc@x"},"serviceName":"s\"q","timestamp":"1735725600123"}`,
	"{\"serviceName\":\"caf\xe9\",\"requestParams\":{\"k\xff\":\"v\xfe\"}}",
	`{"timestamp":"2025-01-01T10:00:00.5Z","sourceIPAddress":"10.0.0.1:443","userAgent":true}`,
	`{"timestamp":1.5e12,"orgId":-0.5,"accountId":12345678901234567890}`,
	` {"a":[{"b":[[]]}],"c":{}} `,
	`{"a":1}x`, `{"a":}`, `{"a":"\q"}`, `[1]`, `{"a":[1,]}`, `{"requestParams":{"a":tru}}`, `{"a"`,
}

// TestStringBodyMatchesMapBody runs the fuzzer's check on the reference lines and the edge cases.
func TestStringBodyMatchesMapBody(t *testing.T) {
	lines := stringBodyEdgeCases
	data, err := os.ReadFile("testdata/delivery_reference.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		lines = append(lines, l)
	}
	mapParser, textParser := stringBodyParsers()
	for _, l := range lines {
		checkStringBodyMatchesMapBody(t, mapParser, textParser, []byte(l))
	}
}

func TestStringBodyReadsTheEdgeCases(t *testing.T) {
	_, p := stringBodyParsers()
	attrs := func(line string) map[string]any {
		lr := plog.NewLogRecord()
		if _, err := p.ParseDeliveryLine([]byte(line), "1", lr); err != nil {
			t.Fatal(err)
		}
		if lr.Body().Str() != line {
			t.Fatalf("body %q, want the line", lr.Body().Str())
		}
		return lr.Attributes().AsRaw()
	}
	got := attrs(stringBodyEdgeCases[0])
	if got[AttrRequestParamPrefix+"a"] != "3" || got[AttrRequestParamPrefix+"b"] != "2" ||
		got[AttrRequestParamPrefix+"d"] != `{"e":[1,"x"]}` || got[AttrStatusCode] != int64(401) {
		t.Fatalf("attributes %v", got)
	}
	if _, ok := got[AttrRequestParamPrefix+"c"]; ok {
		t.Fatal("a null parameter became an attribute")
	}
	if got := attrs(stringBodyEdgeCases[5]); got[AttrStatusCode] != int64(404) || got[AttrErrorMessage] != "gone" {
		t.Fatalf("snake_case response: %v", got)
	}
	if got := attrs(stringBodyEdgeCases[8]); got[AttrIdentityRunBy] != "svc@x" || got[AttrIdentityRunAs] != "u@x" {
		t.Fatalf("identity_metadata: %v", got)
	}
}

// FuzzStringBodyMatchesMapBody: body_format: string accepts exactly the lines the map body
// accepts and gives the same record except the Body, which is the line's text (with invalid
// UTF-8 replaced) and decodes to the map body.
func FuzzStringBodyMatchesMapBody(f *testing.F) {
	for _, l := range stringBodyEdgeCases {
		f.Add([]byte(l))
	}
	mapParser, textParser := stringBodyParsers()
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) > maxFuzzInput {
			return
		}
		checkStringBodyMatchesMapBody(t, mapParser, textParser, line)
	})
}

func stringBodyParsers() (mapBody, stringBody *Parser) {
	stringBody = fixedParser(CloudAWS)
	stringBody.StringBody = true
	return fixedParser(CloudAWS), stringBody
}

func checkStringBodyMatchesMapBody(t *testing.T, mapParser, textParser *Parser, line []byte) {
	t.Helper()
	mapRecord, textRecord := plog.NewLogRecord(), plog.NewLogRecord()
	mapRes, mapErr := mapParser.ParseDeliveryLine(line, "", mapRecord)
	textRes, textErr := textParser.ParseDeliveryLine(line, "", textRecord)
	if (mapErr == nil) != (textErr == nil) {
		t.Fatalf("%q: map body err=%v, string body err=%v", line, mapErr, textErr)
	}
	if mapErr != nil {
		return
	}
	if mapRes != textRes {
		t.Fatalf("%q: resource %+v, map body %+v", line, textRes, mapRes)
	}
	if got, want := textRecord.Attributes().AsRaw(), mapRecord.Attributes().AsRaw(); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: attributes\n%v\nmap body\n%v", line, got, want)
	}
	if textRecord.Timestamp() != mapRecord.Timestamp() || textRecord.SeverityNumber() != mapRecord.SeverityNumber() ||
		textRecord.EventName() != mapRecord.EventName() {
		t.Fatalf("%q: timestamp, severity or event name differ", line)
	}
	body := textRecord.Body().Str()
	if !utf8.ValidString(body) || (utf8.Valid(line) && body != string(line)) {
		t.Fatalf("%q: body %q", line, body)
	}
	decoded := plog.NewLogRecord().Body().SetEmptyMap()
	if err := newDecoder().decodeObject([]byte(body), decoded); err != nil {
		t.Fatalf("%q: body does not decode: %v", line, err)
	}
	if !reflect.DeepEqual(decoded.AsRaw(), mapRecord.Body().Map().AsRaw()) {
		t.Fatalf("%q: body decodes to %v, map body %v", line, decoded.AsRaw(), mapRecord.Body().Map().AsRaw())
	}
}

// TestStringBodyOtherSources: Azure records (JSON Lines and the Event Hub envelope) and system
// table rows give the same attributes with either body format, and the string Body holds the
// same record as the map Body.
func TestStringBodyOtherSources(t *testing.T) {
	fill := func(stringBody bool) plog.Logs {
		p := fixedParser(CloudAWS)
		p.StringBody = stringBody
		b := NewBatch(p, "test", "")
		for _, line := range readLines(t, "testdata/azure_records.jsonl") {
			if _, _, err := b.AppendAzureLine(line); err != nil {
				t.Fatal(err)
			}
		}
		envelope, err := os.ReadFile("testdata/azure_envelope.json")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.AppendAzureLine(envelope); err != nil {
			t.Fatal(err)
		}
		rows := referenceRows(t)
		for i := range rows {
			b.AppendAuditRow(&rows[i])
		}
		return b.Take()
	}
	asMap, asText := fill(false), fill(true)
	mapRecords, textRecords := allRecords(asMap), allRecords(asText)
	if len(mapRecords) != len(textRecords) || len(mapRecords) < 8 {
		t.Fatalf("%d records with the map body, %d with the string body", len(mapRecords), len(textRecords))
	}
	for i, want := range mapRecords {
		got := textRecords[i]
		if !reflect.DeepEqual(got.Attributes().AsRaw(), want.Attributes().AsRaw()) {
			t.Fatalf("record %d: attributes %v, map body %v", i, got.Attributes().AsRaw(), want.Attributes().AsRaw())
		}
		var fromText, fromMap any
		if err := json.Unmarshal([]byte(got.Body().Str()), &fromText); err != nil {
			t.Fatalf("record %d: body %q: %v", i, got.Body().Str(), err)
		}
		mapJSON, err := json.Marshal(want.Body().Map().AsRaw())
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(mapJSON, &fromMap); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromText, fromMap) {
			t.Fatalf("record %d: body %v, map body %v", i, fromText, fromMap)
		}
	}
}

func allRecords(ld plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				out = append(out, lrs.At(k))
			}
		}
	}
	return out
}
