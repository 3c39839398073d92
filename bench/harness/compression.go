//go:build bench

package main

import (
	"bytes"
	"io"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/grpc/encoding"
)

// The sink must understand every compression the otlp_grpc exporter can be set to. gzip is
// registered with gRPC by an import elsewhere; the collector registers snappy and zstd in an
// internal package of configgrpc, which the harness cannot import, so the sink registers its
// own. Without them the sink rejects every request of those runs and counts nothing.
func init() {
	for _, c := range []encoding.Compressor{snappyCompressor{}, newZstdCompressor()} {
		if encoding.GetCompressor(c.Name()) == nil {
			encoding.RegisterCompressor(c)
		}
	}
}

// snappyCompressor is snappy's framing format, as configgrpc writes it.
type snappyCompressor struct{}

func (snappyCompressor) Name() string { return "snappy" }

func (snappyCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return snappy.NewBufferedWriter(w), nil
}

func (snappyCompressor) Decompress(r io.Reader) (io.Reader, error) {
	return snappy.NewReader(r), nil
}

// zstdCompressor decodes whole messages with one shared decoder (DecodeAll is safe for
// concurrent use and starts no goroutines per message).
type zstdCompressor struct {
	decoder *zstd.Decoder
}

func newZstdCompressor() zstdCompressor {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		panic(err) // only invalid options fail
	}
	return zstdCompressor{decoder: d}
}

func (zstdCompressor) Name() string { return "zstd" }

func (zstdCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
}

func (c zstdCompressor) Decompress(r io.Reader) (io.Reader, error) {
	compressed, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	plain, err := c.decoder.DecodeAll(compressed, nil)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(plain), nil
}
