//go:build bench

package main

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"os"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// schemaComparison measures how close the contrib pipeline's records come to ours: the same
// records (matched by timestamp, request id and action) are compared field by field.
type schemaComparison struct {
	SampledRecords int                        `json:"sampled_records"`
	Matched        int                        `json:"matched"`
	Fields         map[string]*fieldAgreement `json:"fields"`
}

// fieldAgreement counts, over the matched records, where a field agrees.
type fieldAgreement struct {
	Equal       int    `json:"equal"`
	Different   int    `json:"different"`
	OnlyOurs    int    `json:"only_databricks_audit"`
	OnlyContrib int    `json:"only_contrib"`
	Example     string `json:"example,omitempty"` // one difference: ours | contrib
}

// sampleOneIn keeps the comparison's memory small: one record in sampleOneIn is compared
// (every record of the small comparison data set).
const sampleOneIn = 1

func compareSchemas(oursPath, contribPath string) (*schemaComparison, error) {
	ours := map[string]map[string]string{}
	if err := scanRecords(oursPath, func(key string, fields map[string]string) {
		ours[key] = fields
	}); err != nil {
		return nil, err
	}
	cmp := &schemaComparison{SampledRecords: len(ours), Fields: map[string]*fieldAgreement{}}
	err := scanRecords(contribPath, func(key string, theirs map[string]string) {
		mine, ok := ours[key]
		if !ok {
			return
		}
		cmp.Matched++
		for k, v := range mine {
			a := cmp.field(k)
			switch tv, ok := theirs[k]; {
			case !ok:
				a.OnlyOurs++
			case tv == v:
				a.Equal++
			default:
				a.Different++
				if a.Example == "" {
					a.Example = truncate(v, 80) + " | " + truncate(tv, 80)
				}
			}
		}
		for k := range theirs {
			if _, ok := mine[k]; !ok {
				cmp.field(k).OnlyContrib++
			}
		}
	})
	return cmp, err
}

func (c *schemaComparison) field(k string) *fieldAgreement {
	a := c.Fields[k]
	if a == nil {
		a = &fieldAgreement{}
		c.Fields[k] = a
	}
	return a
}

// scanRecords reads a file exporter output (one OTLP JSON request per line) and calls fn for
// the sampled records with their comparable fields.
func scanRecords(path string, fn func(key string, fields map[string]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 512<<20)
	var um plog.JSONUnmarshaler
	for sc.Scan() {
		ld, err := um.UnmarshalLogs(sc.Bytes())
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					key := recordKey(lr)
					if !sampled(key) {
						continue
					}
					fn(key, recordFields(rl.Resource().Attributes(), lr))
				}
			}
		}
	}
	return sc.Err()
}

func recordKey(lr plog.LogRecord) string {
	body := lr.Body().Map()
	get := func(k string) string {
		if v, ok := body.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	return get("timestamp") + "|" + get("requestId") + "|" + get("serviceName") + "|" + get("actionName") + "|" + get("sessionId")
}

func sampled(key string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32()%sampleOneIn == 0
}

func recordFields(res pcommon.Map, lr plog.LogRecord) map[string]string {
	fields := map[string]string{
		"Timestamp":      lr.Timestamp().String(),
		"SeverityText":   lr.SeverityText(),
		"SeverityNumber": lr.SeverityNumber().String(),
		"EventName":      lr.EventName(),
		"Body":           fmt.Sprint(sortedMap(lr.Body().Map())),
	}
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		fields[k] = v.Type().String() + ":" + v.AsString()
		return true
	})
	res.Range(func(k string, v pcommon.Value) bool {
		fields["resource."+k] = v.Type().String() + ":" + v.AsString()
		return true
	})
	return fields
}

// sortedMap renders a map with sorted keys, so two bodies with the same content compare equal.
func sortedMap(m pcommon.Map) []string {
	var out []string
	m.Range(func(k string, v pcommon.Value) bool {
		if v.Type() == pcommon.ValueTypeMap {
			out = append(out, fmt.Sprintf("%s=%v", k, sortedMap(v.Map())))
		} else {
			out = append(out, k+"="+v.Type().String()+":"+v.AsString())
		}
		return true
	})
	sort.Strings(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
