//go:build bench

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otelcol-databricks/otelcol-databricks/test/loopback"
)

// collector is one otelcol-databricks process under measurement.
type collector struct {
	cmd          *exec.Cmd
	log          *os.File
	telemetryURL string
	done         chan error
}

// startCollector runs the binary with configPath; the config must expose the collector's own
// metrics on telemetryAddr (see telemetryYAML).
func startCollector(binary, configPath, logPath, telemetryAddr string) (*collector, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "--config", configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &collector{cmd: cmd, log: logFile, telemetryURL: "http://" + telemetryAddr + "/metrics", done: make(chan error, 1)}
	running.Store(c)
	go func() {
		c.done <- cmd.Wait()
		running.CompareAndSwap(c, nil)
	}()
	return c, nil
}

// running is the collector under measurement (one at a time), killed if the harness is
// interrupted so that no collector outlives it.
var running atomic.Pointer[collector]

func killRunningOnSignal() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		if c := running.Load(); c != nil {
			_ = c.cmd.Process.Kill()
		}
		fmt.Fprintf(os.Stderr, "harness: %v\n", sig)
		os.Exit(1)
	}()
}

func (c *collector) pid() int { return c.cmd.Process.Pid }

// stop ends the process with SIGTERM (SIGKILL after 30 s) and returns its exit error.
func (c *collector) stop() error {
	defer c.log.Close()
	select {
	case err := <-c.done:
		return fmt.Errorf("collector exited early: %v (see %s)", err, c.log.Name())
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("collector did not stop within 30s of SIGTERM")
	}
}

// exited reports whether the process has already ended.
func (c *collector) exited() (bool, error) {
	select {
	case err := <-c.done:
		c.done <- err
		return true, err
	default:
		return false, nil
	}
}

// metricSum adds up every sample of a metric family in the collector's Prometheus endpoint
// (e.g. otelcol_exporter_sent_log_records summed over exporters).
func (c *collector) metricSum(family string) (float64, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(c.telemetryURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", c.telemetryURL, resp.Status)
	}
	return sumFamily(resp.Body, family)
}

func sumFamily(r io.Reader, family string) (float64, error) {
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' || !bytes.HasPrefix(line, []byte(family)) {
			continue
		}
		name := line[:bytes.IndexAny(line, "{ ")]
		if n := string(name); n != family && n != family+"_total" {
			continue
		}
		value := line[len(name):]
		if i := bytes.LastIndexByte(value, '}'); i >= 0 {
			value = value[i+1:]
		}
		fields := strings.Fields(string(value))
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// waitForTelemetry waits until the collector serves its own metrics (it is up).
func (c *collector) waitForTelemetry(within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if done, err := c.exited(); done {
			return fmt.Errorf("collector exited: %v (see %s)", err, c.log.Name())
		}
		if _, err := c.metricSum("otelcol_process_uptime"); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("collector telemetry %s not up within %v (see %s)", c.telemetryURL, within, c.log.Name())
}

// fetchPprof saves a profile from the collector's pprof extension, e.g. "profile?seconds=20"
// (CPU) or "heap".
func fetchPprof(ctx context.Context, pprofAddr, profile, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/%s", pprofAddr, profile), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freeAddresses returns n loopback addresses whose ports were free a moment ago and that this
// process has not handed out before.
func freeAddresses(n int) ([]string, error) {
	var addrs []string
	for i := 0; i < n; i++ {
		addr, err := loopback.FreeAddress()
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// telemetryYAML is the service::telemetry section shared by every benchmark config: warnings
// only, and the collector's own metrics pulled over Prometheus on addr.
func telemetryYAML(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`  telemetry:
    logs:
      level: warn
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: %s
                port: %s
`, host, port)
}

// hasComponent reports whether the binary lists a component of that name
// (`otelcol-databricks components`).
func hasComponent(binary, name string) (bool, error) {
	out, err := exec.Command(binary, "components").Output()
	if err != nil {
		return false, fmt.Errorf("%s components: %w", binary, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == "- name: "+name {
			return true, nil
		}
	}
	return false, nil
}
