package loopback

import (
	"net"
	"strconv"
	"testing"
)

func TestFreeAddressNeverRepeatsAndStaysBelowTheEphemeralRange(t *testing.T) {
	seen := map[string]bool{}
	limit := ephemeralStart()
	for i := 0; i < 500; i++ {
		addr, err := FreeAddress()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("address %s handed out twice (after %d)", addr, i)
		}
		seen[addr] = true
		host, portText, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(portText)
		if host != "127.0.0.1" || port < lowestPort || (limit-lowestPort >= 1000 && port >= limit) {
			t.Fatalf("address %s outside 127.0.0.1:[%d,%d)", addr, lowestPort, limit)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("address %s handed out but not free: %v", addr, err)
		}
		_ = l.Close()
	}
}

func TestFreeAddressSkipsPortsInUseAndRunsOutCleanly(t *testing.T) {
	// A window below lowestPort, so no other test's ports are in it.
	const low, high = 15000, 15019
	held := map[string]bool{}
	for port := low; port <= high; port += 2 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken by something else already: just as busy
		}
		defer l.Close()
		held[addr] = true
	}
	if len(held) == 0 {
		t.Skip("no port in the test window could be held")
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[string]bool{}
	for {
		addr, err := freeAddressIn(low, high)
		if err != nil {
			break
		}
		if held[addr] {
			t.Fatalf("returned %s, which a listener holds", addr)
		}
		if got[addr] {
			t.Fatalf("returned %s twice", addr)
		}
		got[addr] = true
		if len(got) > high-low+1 {
			t.Fatalf("more addresses than ports in the window: %v", got)
		}
	}
	if len(got)+len(held) > high-low+1 || len(got) == 0 {
		t.Fatalf("%d free + %d held addresses in a window of %d ports", len(got), len(held), high-low+1)
	}
}
