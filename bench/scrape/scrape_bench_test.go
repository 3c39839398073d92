//go:build bench

// Package scrape measures the databricks receiver against the real simulator server (REST,
// SCIM and SQL APIs over HTTP, through databricks-sdk-go), with the simulator's bench
// scenario: 500 clusters and about 10,000 job runs. Run with
//
//	go test -tags bench -run '^$' -bench . -benchtime 5x ./bench/scrape/
//
// The receiver package's own BenchmarkScrape measures the scraper against an in-memory fake;
// this one adds HTTP, JSON, paging and the client's rate limiter.
package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"
)

var (
	worldOnce sync.Once
	world     *simulator.World
	worldErr  error
)

// benchWorld is the bench scenario with its timeline ending now, so the receiver's wall clock
// and the simulator's backfill clock agree.
func benchWorld(b *testing.B) *simulator.World {
	worldOnce.Do(func() {
		var sc *simulator.Scenario
		sc, worldErr = simulator.LoadScenario(filepath.Join("..", "..", "configs", "sim", "bench.yaml"))
		if worldErr == nil {
			world, worldErr = simulator.Build(sc, simulator.Options{Start: "now-2h"})
		}
	})
	if worldErr != nil {
		b.Fatal(worldErr)
	}
	return world
}

// countingHandler counts the API requests the receiver makes.
type countingHandler struct {
	next     http.Handler
	requests atomic.Int64
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	h.next.ServeHTTP(w, r)
}

// scrapeSignal turns every metrics delivery (the end of one collection cycle) into a tick.
type scrapeSignal struct {
	done chan struct{}
	last atomic.Pointer[pmetric.Metrics]
}

func (s *scrapeSignal) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *scrapeSignal) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	s.last.Store(&md)
	s.done <- struct{}{}
	return nil
}

// BenchmarkScrapeSimulator: one op is one steady-state collection cycle (after the first,
// which is reported separately as cold-*). Cycles run back to back (collection_interval far
// below the cycle time), so wall time per op is the cycle's duration.
func BenchmarkScrapeSimulator(b *testing.B) {
	w := benchWorld(b)
	for _, rps := range []float64{10, 1000} {
		b.Run(fmt.Sprintf("max_requests_per_second=%g", rps), func(b *testing.B) {
			sim := simulator.NewServer(w, simulator.ServerOptions{StatementLatency: -1})
			h := &countingHandler{next: sim}
			srv := httptest.NewServer(h)
			defer srv.Close()

			f := databricksreceiver.NewFactory()
			cfg := f.CreateDefaultConfig().(*databricksreceiver.Config)
			cfg.Connection.Endpoint = srv.URL
			cfg.Connection.Token = configopaque.String(sim.Token())
			cfg.Connection.MaxRequestsPerSecond = rps
			cfg.CollectionInterval = 10 * time.Millisecond
			cfg.InitialDelay = 0
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			sig := &scrapeSignal{done: make(chan struct{}, 1)}
			set := receivertest.NewNopSettings(f.Type())
			r, err := f.CreateMetrics(context.Background(), set, cfg, sig)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() {
				// Drain a delivery in flight so Shutdown does not wait on the signal channel.
				go func() {
					for range sig.done {
					}
				}()
				if err := r.Shutdown(context.Background()); err != nil {
					b.Error(err)
				}
				close(sig.done)
			}()
			<-sig.done // the first cycle: full snapshot of everything
			cold, coldRequests := time.Since(start), h.requests.Load()
			if md := sig.last.Load(); md == nil || md.DataPointCount() == 0 {
				b.Fatal("first collection cycle produced no data points")
			}
			points := sig.last.Load().DataPointCount()
			before, routesBefore := h.requests.Load(), sim.Stats().Requests
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				<-sig.done
			}
			b.StopTimer()
			// Where the requests of the steady cycles went, per API route.
			for route, n := range sim.Stats().Requests {
				if d := n - routesBefore[route]; d > 0 {
					b.Logf("%-45s %8.1f requests/scrape", route, float64(d)/float64(b.N))
				}
			}
			b.ReportMetric(float64(h.requests.Load()-before)/float64(b.N), "requests/scrape")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scrape")
			b.ReportMetric(float64(cold.Milliseconds()), "cold-ms")
			b.ReportMetric(float64(coldRequests), "cold-requests")
			b.ReportMetric(float64(points), "datapoints")
			b.ReportMetric(float64(len(w.Workspace.Clusters)), "clusters")
			b.ReportMetric(float64(len(w.Workspace.Runs)), "runs")
		})
	}
}
