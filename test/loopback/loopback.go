// Package loopback hands out loopback TCP addresses for the servers that tests start as
// separate processes (collectors, simulators, Prometheus, Alertmanager, Azurite).
//
// Asking the kernel for port 0 and closing the listener is not enough: Linux may return the
// same port to the next request (CI once gave a collector's health_check and its otlp receiver
// both 127.0.0.1:40427), and a port from the ephemeral range can be taken by any outgoing
// connection before the process that was told to listen on it starts. So ports come from below
// the ephemeral range, are checked free, and are never handed out twice by one test process.
package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowestPort keeps clear of well-known and registered service ports commonly in use.
const lowestPort = 20000

var (
	mu        sync.Mutex
	handedOut = map[int]bool{}
	// ephemeralStart is read once: the range does not change while tests run.
	ephemeralStart = sync.OnceValue(ephemeralRangeStart)
)

// FreeAddress returns "127.0.0.1:port" for a port that was free a moment ago, outside the
// kernel's ephemeral range, and not returned before by this process.
func FreeAddress() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	low, high := lowestPort, ephemeralStart()-1
	if high-low < 1000 {
		return kernelChosenAddress()
	}
	return freeAddressIn(low, high)
}

// freeAddressIn draws ports from [low, high]; the caller holds mu.
func freeAddressIn(low, high int) (string, error) {
	for attempt := 0; attempt < 1000; attempt++ {
		port := low + rand.IntN(high-low+1)
		if handedOut[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = l.Close()
		handedOut[port] = true
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback port in %d-%d after 1000 attempts", low, high)
}

// kernelChosenAddress is the fallback where the ephemeral range leaves no room below it.
func kernelChosenAddress() (string, error) {
	for attempt := 0; attempt < 100; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return l.Addr().String(), nil
		}
	}
	return "", fmt.Errorf("the kernel kept returning ports already handed out")
}

// ephemeralRangeStart is the first port Linux uses for outgoing connections and port-0 binds.
func ephemeralRangeStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil {
		return 32768
	}
	return n
}
