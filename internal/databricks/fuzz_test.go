package databricks

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// nullable makes value i of a fuzz input NULL when bit i of mask is set.
func nullable(mask uint8, values ...string) []*string {
	out := make([]*string, len(values))
	for i := range values {
		if mask&(1<<uint(i)) == 0 {
			out[i] = &values[i]
		}
	}
	return out
}

func FuzzDecodeAuditRow(f *testing.F) {
	f.Add("2025-01-01T10:00:00.123Z", "evt-1", `{"email":"bob@example.com","subject_name":null}`,
		`{"user":"bob@example.com"}`, `{"status_code":401,"error_message":"denied","result":null}`,
		`{"run_by":"a@example.com","run_as":"g"}`, uint8(0))
	f.Add("2025-01-01 10:00:00", "evt-2", "System-User", `{}`, `{"status_code":"200"}`, "", uint8(0x20))
	f.Add("", "", "{", "[1,2]", `{"status_code":1e400}`, "null", uint8(0xff))
	cols := make([]resultColumn, len(auditColumns))
	for i, c := range auditColumns {
		cols[i] = resultColumn{Name: c["name"].(string), TypeName: c["type_name"].(string)}
	}
	dec := newAuditDecoder(cols)
	f.Fuzz(func(t *testing.T, eventTime, eventID, userIdentity, requestParams, response, identityMetadata string, mask uint8) {
		vals := nullable(mask, eventTime, eventID, userIdentity, requestParams, response, identityMetadata)
		r := auditRow(anyOf(vals[0]), anyOf(vals[1]), anyOf(vals[2]), anyOf(vals[3]), anyOf(vals[4]), anyOf(vals[5]))
		got, err := dec.decode(r)
		if err != nil {
			if got.EventID != "" || got.Raw != nil {
				t.Fatalf("a bad row must come back empty, got %+v", got)
			}
			return
		}
		if got.EventID == "" || got.EventTime.IsZero() {
			t.Fatalf("decoded row lacks its required fields: %+v", got)
		}
		if len(got.Raw) != len(cols) {
			t.Fatalf("Raw has %d columns, want %d", len(got.Raw), len(cols))
		}
		if sc := got.Response.StatusCode; sc != nil && (*sc < 0 || *sc > 999) {
			t.Fatalf("status code out of range: %d", *sc)
		}
	})
}

// anyOf turns a nullable value back into auditRow's argument form.
func anyOf(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func FuzzDecodeNodeTimelineRow(f *testing.F) {
	f.Add("2025-01-01T10:00:00.000Z", "12.5", "1048576", "true", `{"/":107374182400}`, uint8(0))
	f.Add("2025-01-01 10:00:00", "NaN", "-1", "0", `{"/":"12"}`, uint8(0x04))
	f.Add("x", "1e309", "9223372036854775808", "maybe", `{"/":1.5}`, uint8(0xff))
	cols := []resultColumn{{Name: "cluster_id"}, {Name: "instance_id"}, {Name: "start_time"}, {Name: "end_time"},
		{Name: "cpu_user_percent"}, {Name: "network_sent_bytes"}, {Name: "driver"}, {Name: "disk_free_bytes_per_mount_point"}}
	index := newColumnIndex(cols)
	f.Fuzz(func(t *testing.T, start, cpu, sent, driver, disks string, mask uint8) {
		vals := nullable(mask, start, cpu, sent, driver, disks)
		r := append([]*string{strPtr("c1"), strPtr("i1"), vals[0], strPtr("2025-01-01T10:01:00Z")}, vals[1:]...)
		got, err := decodeNodeTimelineRow(index, r)
		if err != nil {
			return
		}
		if got.StartTime.IsZero() || got.InstanceID != "i1" {
			t.Fatalf("decoded row lacks its required fields: %+v", got)
		}
		if got.CPUUserPercent != nil && (*got.CPUUserPercent != *got.CPUUserPercent) {
			t.Fatalf("NaN accepted")
		}
	})
}

func FuzzDecodeBillingUsageRow(f *testing.F) {
	f.Add("r-1", "2025-01-01T10:00:00.000Z", "3.750000000000000000", `{"team":"data"}`, `{"cluster_id":"0101","job_id":null}`, uint8(0))
	f.Add("", "2025-01-01", "-1.25", "{}", "[]", uint8(0x10))
	f.Add("r-3", "2025-13-01T00:00:00Z", "Inf", `{"a":{"b":1}}`, `{"x":true}`, uint8(0xff))
	cols := []resultColumn{{Name: "record_id"}, {Name: "usage_start_time"}, {Name: "usage_quantity"}, {Name: "custom_tags"},
		{Name: "usage_metadata"}, {Name: "usage_end_time"}}
	index := newColumnIndex(cols)
	f.Fuzz(func(t *testing.T, recordID, start, quantity, tags, metadata string, mask uint8) {
		vals := nullable(mask, recordID, start, quantity, tags, metadata)
		got, err := decodeBillingUsageRow(index, append(vals, strPtr("2025-01-01T11:00:00Z")))
		if err != nil {
			return
		}
		if got.RecordID == "" || got.UsageStartTime.IsZero() {
			t.Fatalf("decoded row lacks its required fields: %+v", got)
		}
		if got.UsageQuantity != got.UsageQuantity {
			t.Fatalf("NaN accepted")
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, seed := range []string{"2", "0", "-1", "120", "Thu, 26 Nov 2026 14:00:05 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", "99999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		d, ok := parseRetryAfter(value, now)
		if d < 0 {
			t.Fatalf("negative wait %s for %q", d, value)
		}
		if !ok && d != 0 {
			t.Fatalf("unusable header %q gave a wait of %s", value, d)
		}
		if secs, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil && secs >= 0 && secs < 86400 {
			if !ok || d != time.Duration(secs)*time.Second {
				t.Fatalf("%q: got %s, %v", value, d, ok)
			}
		}
	})
}
