package databricks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// RowError is a result row that could not be decoded. Index is the row's position in the
// whole statement result (0-based, across chunks).
type RowError struct {
	Index int
	Err   error
}

func (e RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Index, e.Err) }

// rowView reads one JSON_ARRAY row by column name. Columns the server did not return read
// as NULL, which keeps decoders working across schema versions.
type rowView struct {
	index map[string]int
	row   []*string
}

func newColumnIndex(cols []resultColumn) map[string]int {
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		if _, dup := index[c.Name]; !dup {
			index[c.Name] = i
		}
	}
	return index
}

func (v rowView) value(col string) *string {
	i, ok := v.index[col]
	if !ok || i >= len(v.row) {
		return nil
	}
	return v.row[i]
}

func (v rowView) str(col string) string {
	if p := v.value(col); p != nil {
		return *p
	}
	return ""
}

func (v rowView) required(col string) (string, error) {
	p := v.value(col)
	if p == nil || *p == "" {
		return "", fmt.Errorf("column %s: missing", col)
	}
	return *p, nil
}

func (v rowView) requiredTime(col string) (time.Time, error) {
	s, err := v.required(col)
	if err != nil {
		return time.Time{}, err
	}
	t, err := parseSQLTimestamp(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("column %s: %w", col, err)
	}
	return t, nil
}

func (v rowView) optionalFloat(col string) (*float64, error) {
	p := v.value(col)
	if p == nil || *p == "" {
		return nil, nil
	}
	f, err := parseFiniteFloat(*p)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", col, err)
	}
	return &f, nil
}

func (v rowView) optionalInt(col string) (*int64, error) {
	p := v.value(col)
	if p == nil || *p == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(*p), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("column %s: not an integer: %q", col, truncate(*p))
	}
	return &n, nil
}

func (v rowView) optionalBool(col string) (bool, error) {
	p := v.value(col)
	if p == nil || *p == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(*p)
	if err != nil {
		return false, fmt.Errorf("column %s: not a boolean: %q", col, truncate(*p))
	}
	return b, nil
}

// object decodes a STRUCT or MAP column, which JSON_ARRAY delivers as JSON text.
func (v rowView) object(col string) (map[string]any, error) {
	p := v.value(col)
	if p == nil || *p == "" {
		return nil, nil
	}
	obj, err := decodeJSONObject(*p)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", col, err)
	}
	return obj, nil
}

var sqlTimestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseSQLTimestamp accepts the forms Databricks renders TIMESTAMP values in; values
// without a zone are UTC, as system tables store UTC.
func parseSQLTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range sqlTimestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a timestamp: %q", truncate(s))
}

func parseFiniteFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a finite number: %q", truncate(s))
	}
	return f, nil
}

// decodeJSONObject keeps integers as int64 (json.Number) so that values such as status
// codes and byte counts survive into log bodies without becoming floats.
func decodeJSONObject(s string) (map[string]any, error) {
	var v any
	if err := decodeJSON(s, &v); err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a JSON object, got %q", truncate(s))
	}
	return normalizeNumbers(obj).(map[string]any), nil
}

func decodeJSON(s string, out any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("invalid JSON: trailing data")
	}
	return nil
}

func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeNumbers(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalizeNumbers(e)
		}
		return t
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	default:
		return v
	}
}

// stringOf renders a decoded JSON value as the string an attribute carries: strings as
// they are, anything else as compact JSON.
func stringOf(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return fmt.Sprint(t)
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
}

// stringMap flattens a decoded MAP<STRING,STRING>-like object; NULL entries are dropped.
func stringMap(obj map[string]any) map[string]string {
	if obj == nil {
		return nil
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		if v == nil {
			continue
		}
		out[k] = stringOf(v)
	}
	return out
}

// truncate keeps error messages short when a value is large or hostile.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

func errColumn(col string, err error) error { return fmt.Errorf("column %s: %w", col, err) }
