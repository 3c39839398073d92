package auditlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"

	jsoniter "github.com/json-iterator/go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func benchLines(b *testing.B) [][]byte {
	b.Helper()
	data, err := os.ReadFile("testdata/delivery_reference.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	return lines
}

func reportRecords(b *testing.B, lines [][]byte, cpuStart time.Duration) {
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	// On a shared machine wall time includes waiting for a core; the process CPU time (GC
	// included) is the cost of the work itself.
	if cpu := processCPU() - cpuStart; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkParseDeliveryLine measures parse + normalise of delivery lines into a batch, the
// receiver's per-record cost, for each body_format. Target: >= 100,000 records/s with -cpu 1.
func BenchmarkParseDeliveryLine(b *testing.B) {
	lines := benchLines(b)
	for _, bodyFormat := range []struct {
		name       string
		stringBody bool
	}{{"body=map", false}, {"body=string", true}} {
		b.Run(bodyFormat.name, func(b *testing.B) {
			p := NewParser()
			p.StringBody = bodyFormat.stringBody
			batch := NewBatch(p, "bench", "")
			b.ReportAllocs()
			b.ResetTimer()
			cpuStart := processCPU()
			for i := 0; i < b.N; i++ {
				if err := batch.AppendDeliveryLine(lines[i%len(lines)], "4839201746501234"); err != nil {
					b.Fatal(err)
				}
				if batch.Len() == 1000 {
					_ = batch.Take()
				}
			}
			reportRecords(b, lines, cpuStart)
		})
	}
}

// BenchmarkDecodeOnly is the ceiling: the same lines through JSON decoders alone, without the
// normaliser.
func BenchmarkDecodeOnly(b *testing.B) {
	lines := benchLines(b)
	b.Run("pdata-scanner", func(b *testing.B) {
		d := newDecoder()
		m := pcommon.NewMap()
		b.ReportAllocs()
		cpuStart := processCPU()
		for i := 0; i < b.N; i++ {
			if err := d.decodeObject(lines[i%len(lines)], m); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b, lines, cpuStart)
	})
	b.Run("map-jsoniter", func(b *testing.B) {
		b.ReportAllocs()
		cpuStart := processCPU()
		for i := 0; i < b.N; i++ {
			var m map[string]any
			if err := jsoniter.ConfigFastest.Unmarshal(lines[i%len(lines)], &m); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b, lines, cpuStart)
	})
	b.Run("map-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		cpuStart := processCPU()
		for i := 0; i < b.N; i++ {
			var m map[string]any
			if err := json.Unmarshal(lines[i%len(lines)], &m); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b, lines, cpuStart)
	})
	b.Run("pdata-encoding-json-fromraw", func(b *testing.B) {
		lr := plog.NewLogRecord()
		b.ReportAllocs()
		cpuStart := processCPU()
		for i := 0; i < b.N; i++ {
			var m map[string]any
			if err := json.Unmarshal(lines[i%len(lines)], &m); err != nil {
				b.Fatal(err)
			}
			if err := lr.Body().SetEmptyMap().FromRaw(m); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b, lines, cpuStart)
	})
}
