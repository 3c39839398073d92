// Command alertprinter receives the `alert` exporter's webhook notifications (one finding per
// POST) and prints each as one readable line, so that the demo (scripts/demo.sh) shows findings
// on the console as they are raised. With --out it also appends every notification, as
// received, to a JSON-lines file.
//
//	go run ./scripts/alertprinter --listen 127.0.0.1:9099 --out demo-out/alerts.jsonl
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9099", "address to receive webhook notifications on")
	out := flag.String("out", "", "also append every notification as a JSON line to this file")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "alertprinter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, outPath string, console io.Writer) error {
	var archive io.Writer
	if outPath != "" {
		f, err := os.OpenFile(outPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		archive = f
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(console, "alertprinter: listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: newPrinter(console, archive), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
