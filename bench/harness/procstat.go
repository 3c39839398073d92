//go:build bench

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// procSample is a process's CPU time and memory at one moment.
type procSample struct {
	CPU     time.Duration // utime + stime
	RSS     int64         // VmRSS, bytes
	PeakRSS int64         // VmHWM, bytes
	// RSSAnon is the anonymous part of RSS (heap, stacks): RSS minus the mapped pages of the
	// binary and other files, which for a 170 MB distribution are a large share at rest.
	RSSAnon int64 // RssAnon, bytes
	// RSSFile is the file-backed part: mostly the binary's text and read-only data, pages the
	// kernel shares between processes of the same binary and can evict and read back.
	RSSFile int64 // RssFile, bytes
}

func sampleProcess(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may contain spaces: fields are counted after its ')'.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	s.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSS = parseKiB(v)
		case "VmHWM":
			s.PeakRSS = parseKiB(v)
		case "RssAnon":
			s.RSSAnon = parseKiB(v)
		case "RssFile":
			s.RSSFile = parseKiB(v)
		}
	}
	return s, nil
}

// parseKiB reads a /proc/<pid>/status size ("  123456 kB") as bytes.
func parseKiB(v string) int64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n * 1024
}
