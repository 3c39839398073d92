package databricksauditreceiver

import (
	"bufio"
	"errors"
	"io"
)

// readBufferSize is the read size from the object stream; lines longer than it are assembled
// in lineReader.buf up to the maximum line size.
const readBufferSize = 64 << 10

// lineReader splits a stream into lines without ever holding more than maxLine bytes of one
// line: a longer line is consumed and reported as too long, its content discarded. Memory
// stays flat whatever the object size.
type lineReader struct {
	r       *bufio.Reader
	maxLine int
	buf     []byte
	offset  int64 // stream offset just after the last line returned
}

func newLineReader(r io.Reader, maxLine int, startOffset int64) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, readBufferSize), maxLine: maxLine, offset: startOffset}
}

// line is one line of the stream.
type line struct {
	data       []byte // without the trailing newline; valid until the next call
	start, end int64  // stream offsets of the line's first byte and just past its newline
	terminated bool   // false for a last line without a newline
	tooLong    bool   // longer than maxLine: data is empty
	lastByte   byte   // the last byte consumed ('\n' when terminated)
}

// next returns the next line, or io.EOF when the stream holds no more bytes.
func (l *lineReader) next() (line, error) {
	l.buf = l.buf[:0]
	ln := line{start: l.offset}
	var consumed int64
	for {
		frag, err := l.r.ReadSlice('\n')
		consumed += int64(len(frag))
		if len(frag) > 0 {
			ln.lastByte = frag[len(frag)-1]
		}
		if !ln.tooLong {
			if len(l.buf)+len(frag) > l.maxLine+1 { // +1: the newline does not count
				ln.tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, frag...)
			}
		}
		switch {
		case err == nil:
			ln.terminated = true
			l.buf = l.buf[:max(len(l.buf)-1, 0)]
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if consumed == 0 {
				return line{}, io.EOF
			}
		default:
			return line{}, err
		}
		l.offset += consumed
		ln.end = l.offset
		if !ln.tooLong {
			ln.data = l.buf
		}
		return ln, nil
	}
}
