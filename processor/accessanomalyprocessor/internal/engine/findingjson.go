// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// A Finding is stored as JSON while its suppression window is open, and the roll-up is made
// from the stored copy after a restart. Context and baseline values are `any`, which
// encoding/json reads back as float64 for every number: a roll-up emitted after a restart
// carried http.response.status_code or an integer baseline as a double where the live finding
// carried an int. Floats are therefore written with a decimal point, and numbers without one
// are read back as int64.

// findingFields is Finding without its JSON methods.
type findingFields Finding

func (f Finding) MarshalJSON() ([]byte, error) {
	out := findingFields(f)
	out.Context = typedContext(f.Context)
	out.Baseline = typedBaseline(f.Baseline)
	return json.Marshal(out)
}

// typedContext is a finding's context ready to encode with its numbers' types kept.
func typedContext(c map[string]any) map[string]any {
	if len(c) == 0 {
		return nil
	}
	out := make(map[string]any, len(c))
	for k, v := range c {
		out[k] = typedNumber(v)
	}
	return out
}

// typedBaseline is a finding's baseline ready to encode with its numbers' types kept.
func typedBaseline(b []KV) []KV {
	if len(b) == 0 {
		return nil
	}
	out := make([]KV, len(b))
	for i, kv := range b {
		out[i] = KV{Key: kv.Key, Value: typedNumber(kv.Value)}
	}
	return out
}

func (f *Finding) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var in findingFields
	if err := dec.Decode(&in); err != nil {
		return err
	}
	for k, v := range in.Context {
		in.Context[k] = fromJSONNumber(v)
	}
	for i := range in.Baseline {
		in.Baseline[i].Value = fromJSONNumber(in.Baseline[i].Value)
	}
	*f = Finding(in)
	return nil
}

// floatJSON is a float64 that keeps its decimal point in JSON (3 is written 3.0); NaN and
// infinities, which JSON cannot hold, are written as null instead of failing the write.
type floatJSON float64

func (x floatJSON) MarshalJSON() ([]byte, error) {
	v := float64(x)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return b, nil
}

// mapJSONLeaves returns v with every value that is not a []any or map[string]any replaced by
// leaf(value); containers are copied, so v itself is never changed.
func mapJSONLeaves(v any, leaf func(any) any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = mapJSONLeaves(x[i], leaf)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k := range x {
			out[k] = mapJSONLeaves(x[k], leaf)
		}
		return out
	}
	return leaf(v)
}

func typedNumber(v any) any { return mapJSONLeaves(v, floatWithPoint) }

func floatWithPoint(v any) any {
	switch x := v.(type) {
	case float64:
		return floatJSON(x)
	case float32:
		return floatJSON(x)
	}
	return v
}

func fromJSONNumber(v any) any { return mapJSONLeaves(v, numberAsIntOrFloat) }

// numberAsIntOrFloat reads a json.Number without a decimal point or exponent as int64.
func numberAsIntOrFloat(v any) any {
	x, ok := v.(json.Number)
	if !ok {
		return v
	}
	s := x.String()
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}
