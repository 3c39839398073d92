package databricksauditreceiver

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksauditreceiver/auditlog"
)

func TestLineReader(t *testing.T) {
	input := "a\n\nbb\r\n" + strings.Repeat("x", 50) + "\nccc"
	lr := newLineReader(strings.NewReader(input), 10, 100)
	type got struct {
		data                string
		start, end          int64
		terminated, tooLong bool
		last                byte
	}
	var all []got
	for {
		ln, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		all = append(all, got{string(ln.data), ln.start, ln.end, ln.terminated, ln.tooLong, ln.lastByte})
	}
	assert.Equal(t, []got{
		{"a", 100, 102, true, false, '\n'},
		{"", 102, 103, true, false, '\n'},
		{"bb\r", 103, 107, true, false, '\n'},
		{"", 107, 158, true, true, '\n'},
		{"ccc", 158, 161, false, false, 'c'},
	}, all)
}

// generatedObject streams an audit object of about size bytes without holding it: lines are
// produced on demand, with one line of hugeLine bytes in the middle.
type generatedObject struct {
	size, hugeLine, produced int
	pending                  []byte
	n                        int
	hugeDone                 bool
}

func (g *generatedObject) Read(p []byte) (int, error) {
	if len(g.pending) == 0 {
		switch {
		case g.produced >= g.size:
			return 0, io.EOF
		case !g.hugeDone && g.produced >= g.size/2:
			g.hugeDone = true
			g.pending = []byte(`{"requestParams":{"x":"` + strings.Repeat("y", g.hugeLine) + `"}}` + "\n")
		default:
			g.n++
			g.pending = []byte(auditLine(g.n) + "\n")
		}
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	g.produced += n
	return n, nil
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestLargeObjectMemoryIsFlat reads a generated 24 MB object with a 4 MB line through the
// reader and the parser: the heap stays near its starting size, and the oversized line is
// rejected without being held.
func TestLargeObjectMemoryIsFlat(t *testing.T) {
	const size, huge, maxLine = 24 << 20, 4 << 20, 1 << 20
	obj := &generatedObject{size: size, hugeLine: huge}
	lr := newLineReader(obj, maxLine, 0)
	batch := auditlog.NewBatch(auditlog.NewParser(), "test", "")
	base := heapInUse()
	var peak uint64
	records, tooLong := 0, 0
	for i := 0; ; i++ {
		ln, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if ln.tooLong {
			tooLong++
			continue
		}
		require.NoError(t, batch.AppendDeliveryLine(ln.data, "1"))
		records++
		if batch.Len() == defaultBatchSize {
			_ = batch.Take() // delivered
		}
		if i%20000 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	assert.Equal(t, 1, tooLong)
	assert.Equal(t, obj.n, records)
	assert.Greater(t, lr.offset, int64(size))
	growth := int64(peak) - int64(base)
	t.Logf("read %d MB, %d records; heap in use grew by %.1f MB at most", size>>20, records, float64(growth)/(1<<20))
	assert.Less(t, growth, int64(16<<20), fmt.Sprintf("heap grew by %d bytes", growth))
}
