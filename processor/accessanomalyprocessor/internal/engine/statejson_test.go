// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
)

// fuzzBits hands out the fuzzer's bytes as numbers (zeros once they run out).
type fuzzBits []byte

func (f *fuzzBits) u64() uint64 {
	var b [8]byte
	n := copy(b[:], *f)
	*f = (*f)[n:]
	return binary.LittleEndian.Uint64(b[:])
}

// float is a count-like value, a fraction, or any bit pattern (NaN, infinities,
// subnormals, huge and tiny magnitudes), by the fuzzer's choice.
func (f *fuzzBits) float() float64 {
	x := f.u64()
	switch x % 4 {
	case 0:
		return float64(x >> 40)
	case 1:
		return float64(x>>20) / 1024
	default:
		return math.Float64frombits(f.u64())
	}
}

// checkStateJSON compares appendJSON with json.Marshal of the same state (reflection: the
// state types have no MarshalJSON of their own): the same bytes, or both an error.
func checkStateJSON(t *testing.T, s interface {
	jsonAppender
}) {
	t.Helper()
	want, wantErr := json.Marshal(s)
	got, err := s.appendJSON(nil)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%T: appendJSON error %v, json.Marshal error %v", s, err, wantErr)
	}
	if err == nil && string(got) != string(want) {
		t.Fatalf("%T:\nappendJSON   %s\njson.Marshal %s", s, got, want)
	}
}

func FuzzStateJSON(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x00\x00\x00\x00\x00\xf0\x7f"))                                 // +Inf
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00")) // a subnormal
	f.Add([]byte("\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe0\x3e\xff\xff\xff\xff\xff\xff\xff\xff\x05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzBits(data)
		th := &thresholdState{Cur: int64(in.u64())}
		for i := range th.Vals {
			th.Vals[i] = in.float()
			th.First[i] = int64(in.u64())
		}
		for n := in.u64() % 4; n > 0; n-- {
			th.Distinct = append(th.Distinct, distinctEntry{H: in.u64(), T: int64(in.u64())})
		}
		for n := in.u64() % 4; n > 0; n-- {
			th.IDs = th.IDs.push(string(rune('a'+n))+"<&>\"\xff", 10)
		}
		checkStateJSON(t, th)

		sp := &spikeState{Cur: int64(in.u64()), Count: in.float(), Fired: in.u64()%2 == 0, First: int64(in.u64() % 3),
			Buckets: int(int64(in.u64())), Mean: in.float(), Var: in.float(), Max: in.float(), Start: int64(in.u64())}
		for n := in.u64() % 4; n > 0; n-- {
			sp.Distinct = append(sp.Distinct, in.u64())
		}
		if in.u64()%2 == 0 {
			sp.HOW = []float32{}
		}
		for n := in.u64() % 5; n > 0; n-- {
			sp.HOW = append(sp.HOW, math.Float32frombits(uint32(in.u64())), float32(in.float()))
		}
		checkStateJSON(t, sp)
	})
}

// The numbers json.Marshal writes in 'e' notation, and the boundaries around them.
func TestAppendJSONFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.999999e-7, 1e-7, 1e20, 1e21, 1e22, 123456789.125,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -1e-9, 5e-324, float64(math.MaxFloat32), 1e-45} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := appendJSONFloat(nil, f, 64)
		if string(got) != string(want) {
			t.Errorf("float64 %v: %s, json.Marshal %s", f, got, want)
		}
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			continue
		}
		want, _ = json.Marshal(f32)
		got, _ = appendJSONFloat(nil, float64(f32), 32)
		if string(got) != string(want) {
			t.Errorf("float32 %v: %s, json.Marshal %s", f32, got, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := appendJSONFloat(nil, f, 64); err == nil {
			t.Errorf("%v: no error (json.Marshal refuses it)", f)
		}
	}
}
