// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"errors"
	"math"
	"strconv"
)

// jsonAppender is a rule state that writes its own stored JSON: the bytes
// json.Marshal gives for it, without reflection or encoding/json's
// compaction of a MarshalJSON result. A flush writes every changed
// identity's states; value sets, spike baselines and threshold windows are
// most of them (FuzzValueSetJSON and FuzzStateJSON keep the bytes equal).
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

var errUnsupportedFloat = errors.New("json: unsupported value: NaN or infinite float")

// appendJSONFloat formats f as encoding/json does for a float of the given
// bits: shortest representation, 'e' notation only for very small or very
// large magnitudes, exponents without a leading zero.
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errUnsupportedFloat
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

func (s *thresholdState) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"c":`...)
	b = strconv.AppendInt(b, s.Cur, 10)
	b = append(b, `,"v":[`...)
	for i, v := range s.Vals {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendJSONFloat(b, v, 64); err != nil {
			return b, err
		}
	}
	b = append(b, `],"f":[`...)
	for i, v := range s.First {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, ']')
	if len(s.Distinct) > 0 {
		b = append(b, `,"d":[`...)
		for i, d := range s.Distinct {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"h":`...)
			b = strconv.AppendUint(b, d.H, 10)
			b = append(b, `,"t":`...)
			b = strconv.AppendInt(b, d.T, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(s.IDs) > 0 {
		b = append(b, `,"i":`...)
		if b, err = s.IDs.appendJSON(b); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func (s *spikeState) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"c":`...)
	b = strconv.AppendInt(b, s.Cur, 10)
	b = append(b, `,"n":`...)
	if b, err = appendJSONFloat(b, s.Count, 64); err != nil {
		return b, err
	}
	if s.Fired {
		b = append(b, `,"x":true`...)
	}
	if len(s.Distinct) > 0 {
		b = append(b, `,"d":[`...)
		for i, d := range s.Distinct {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, d, 10)
		}
		b = append(b, ']')
	}
	if s.First != 0 {
		b = append(b, `,"ft":`...)
		b = strconv.AppendInt(b, s.First, 10)
	}
	b = append(b, `,"b":`...)
	b = strconv.AppendInt(b, int64(s.Buckets), 10)
	for _, f := range [...]struct {
		key string
		v   float64
	}{{`,"m":`, s.Mean}, {`,"s":`, s.Var}, {`,"mx":`, s.Max}} {
		b = append(b, f.key...)
		if b, err = appendJSONFloat(b, f.v, 64); err != nil {
			return b, err
		}
	}
	b = append(b, `,"st":`...)
	b = strconv.AppendInt(b, s.Start, 10)
	if len(s.HOW) > 0 {
		b = append(b, `,"h":[`...)
		for i, v := range s.HOW {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONFloat(b, float64(v), 32); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}
