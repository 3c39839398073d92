// Command databricks-sim serves a simulated Databricks workspace: REST, SCIM, OAuth and SQL
// Statement Execution APIs, audit-log delivery files, Azure diagnostic records and the ground
// truth of injected attacks. See README.md.
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
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-databricks/otelcol-databricks/internal/simulator"
)

type faultFlags []simulator.FaultRule

func (f *faultFlags) String() string { return fmt.Sprint(len(*f)) }
func (f *faultFlags) Set(v string) error {
	r, err := simulator.ParseFaultRule(v)
	if err != nil {
		return err
	}
	*f = append(*f, r)
	return nil
}

type config struct {
	scenario, start, listen, token, clientID, clientSecret string
	deliveryDir, deliveryURL, azureDir, groundTruth        string
	seed                                                   int64
	users, pageSize, chunkRows                             int
	rate, speedup                                          float64
	duration                                               string
	statementLatency, tick                                 time.Duration
	faults                                                 faultFlags
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, time.Now); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "databricks-sim:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, usage io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("databricks-sim", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&c.scenario, "scenario", "", "scenario YAML file (default: a small quiet workspace)")
	fs.Int64Var(&c.seed, "seed", 0, "random seed (default: the scenario's)")
	fs.IntVar(&c.users, "users", 0, "number of users (default: the scenario's)")
	fs.Float64Var(&c.rate, "rate", 0, "mean benign user events per second (default: the scenario's)")
	fs.Float64Var(&c.speedup, "speedup", 0, "live mode: simulated seconds per wall second; 0 = backfill (everything visible at once)")
	fs.StringVar(&c.start, "start", "", `timeline start, RFC 3339 or now-based ("now", "now-24h"); default: the scenario's`)
	fs.StringVar(&c.duration, "duration", "", `timeline length, e.g. 24h or 14d (default: the scenario's)`)
	fs.StringVar(&c.listen, "listen", "", "serve the API on this address, e.g. 127.0.0.1:0 (default: do not serve)")
	fs.StringVar(&c.token, "token", "dapi-simulator-token", "accepted personal access token")
	fs.StringVar(&c.clientID, "client-id", "sim-client", "OAuth M2M client id")
	fs.StringVar(&c.clientSecret, "client-secret", "sim-secret", "OAuth M2M client secret")
	fs.StringVar(&c.deliveryDir, "delivery-dir", "", "write audit-log delivery files under this directory")
	fs.StringVar(&c.deliveryURL, "delivery-url", "", "write delivery files to a URL: file:///dir, s3://bucket/prefix?region=..&endpoint=.., azblob://container/prefix, gs://bucket/prefix")
	fs.StringVar(&c.azureDir, "azure-dir", "", "write Azure diagnostic-settings records under this directory (or URL, as --delivery-url)")
	fs.StringVar(&c.groundTruth, "ground-truth", "", "write the ground truth (JSON) to this file")
	fs.IntVar(&c.pageSize, "page-size", 100, "default and maximum page size of paged lists")
	fs.IntVar(&c.chunkRows, "chunk-rows", 0, "rows per SQL result chunk (default: the scenario's)")
	fs.DurationVar(&c.statementLatency, "statement-latency", 0, "time SQL statements stay PENDING/RUNNING (default: the scenario's)")
	fs.DurationVar(&c.tick, "tick", time.Second, "live mode: how often delivery files are brought up to date")
	fs.Var(&c.faults, "fault", `fault rule "path=/api/2.1/clusters/list,kind=429,count=3[,every=N][,retry_after=2s][,delay=1s]" (repeatable)`)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.deliveryDir != "" && c.deliveryURL != "" {
		return nil, errors.New("--delivery-dir and --delivery-url are mutually exclusive")
	}
	if c.speedup < 0 {
		return nil, errors.New("--speedup must be >= 0")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout io.Writer, wall func() time.Time) error {
	c, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	sc := simulator.DefaultScenario()
	if c.scenario != "" {
		if sc, err = simulator.LoadScenario(c.scenario); err != nil {
			return err
		}
	}
	opts := simulator.Options{Seed: c.seed, Users: c.users, Rate: c.rate, Start: c.start, Now: wall()}
	if c.duration != "" {
		d, err := simulator.ParseDuration(c.duration)
		if err != nil {
			return fmt.Errorf("--duration: %w", err)
		}
		opts.Duration = d.D()
	}
	world, err := simulator.Build(sc, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %d audit events, %d attacks, %d clusters, %d job runs (%s .. %s)\n", len(world.Events), len(world.Truth),
		len(world.Workspace.Clusters), len(world.Workspace.Runs), world.Start.Format(time.RFC3339), world.End.Format(time.RFC3339))
	if c.groundTruth != "" {
		if err := simulator.WriteGroundTruth(c.groundTruth, world); err != nil {
			return err
		}
	}
	clock := func() time.Time { return world.End }
	if c.speedup > 0 {
		// A now-based start puts a backlog before the wall clock: it is visible at once and the
		// live timeline continues from the present.
		from := world.Start
		if now := wall().UTC(); strings.HasPrefix(strings.TrimSpace(world.Scenario.Start), "now") && now.After(from) && now.Before(world.End) {
			from = now
		}
		clock = simulator.LiveClock(from, world.End, c.speedup, wall)
	}
	var writers []func(context.Context, time.Time) (int, error)
	if dest := c.deliveryDir + c.deliveryURL; dest != "" {
		store, err := simulator.OpenStore(ctx, dest)
		if err != nil {
			return err
		}
		if c, ok := store.(io.Closer); ok {
			defer c.Close()
		}
		writers = append(writers, simulator.NewDeliverer(world, store).Deliver)
	}
	if c.azureDir != "" {
		store, err := simulator.OpenStore(ctx, c.azureDir)
		if err != nil {
			return err
		}
		if c, ok := store.(io.Closer); ok {
			defer c.Close()
		}
		writers = append(writers, simulator.NewAzureWriter(world, store).Deliver)
	}
	deliver := func(upTo time.Time) error {
		for _, wr := range writers {
			if _, err := wr(ctx, upTo); err != nil {
				return err
			}
		}
		return nil
	}
	if c.speedup == 0 {
		// Backfill: everything, including late lines, is delivered at once.
		if err := deliver(world.End.Add(24 * time.Hour)); err != nil {
			return err
		}
		if c.listen == "" {
			return nil
		}
	}
	var srv *http.Server
	errc := make(chan error, 1)
	if c.listen != "" {
		ln, err := net.Listen("tcp", c.listen)
		if err != nil {
			return err
		}
		handler := simulator.NewServer(world, simulator.ServerOptions{Token: c.token, ClientID: c.clientID, ClientSecret: c.clientSecret,
			Clock: clock, PageSize: c.pageSize, ChunkRows: c.chunkRows, StatementLatency: c.statementLatency, Faults: c.faults})
		srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
		go func() { errc <- srv.Serve(ln) }()
	}
	if c.speedup > 0 && len(writers) > 0 {
		t := time.NewTicker(c.tick)
		defer t.Stop()
	live:
		for {
			if err := deliver(clock()); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				break live
			case err := <-errc:
				return err
			case <-t.C:
			}
		}
	} else if srv == nil {
		return nil
	}
	if srv != nil {
		select {
		case <-ctx.Done():
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
		}
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			return err
		}
	}
	return nil
}
