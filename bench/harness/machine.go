//go:build bench

package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// machine records what the figures were measured on; the load average matters because the
// benchmark machine is shared with other builds.
type machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	GoVersion  string `json:"go_version"`
	Collector  string `json:"collector"`
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

type results struct {
	Machine  machine        `json:"machine"`
	Binary   string         `json:"binary"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Ingest   *ingestResults `json:"ingest,omitempty"`
	Steady   *steadyResults `json:"steady,omitempty"`
}

func describeMachine() machine {
	return machine{CPUs: runtime.NumCPU(), CPUModel: cpuModel(), GoVersion: runtime.Version(), LoadBefore: loadAverage()}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func collectorVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
