// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package ottlfuncs // import "github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/ottlfuncs"

import (
	"net/netip"
	"strings"
)

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// ParseAddr parses an address, tolerating a port ("1.2.3.4:5", "[::1]:5")
// that a source may not have stripped.
func ParseAddr(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// IsPrivate reports addresses that say nothing about where a person is:
// RFC 1918 / ULA, loopback, link-local, unspecified and carrier-grade NAT.
func IsPrivate(a netip.Addr) bool {
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		sharedAddressSpace.Contains(a)
}

// IsPublicAddress is true only for a parseable, non-private address; network
// rules skip everything else (empty, "0.0.0.0", RFC 1918, garbage).
func IsPublicAddress(s string) bool {
	a, ok := ParseAddr(s)
	return ok && !IsPrivate(a)
}

// Network returns the IPv4 /v4 or IPv6 /v6 network containing a.
func Network(a netip.Addr, v4, v6 int) netip.Prefix {
	bits := v6
	if a.Is4() {
		bits = v4
	}
	p, _ := a.Prefix(bits)
	return p
}

// UAFamily reduces a user agent to client and major version, e.g.
// "databricks-cli/0.212.1 ..." -> "databricks-cli/0", and browsers to their
// name only, because browser versions change every few weeks. It returns a
// substring or a constant, so it does not allocate.
func UAFamily(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return ""
	}
	if strings.HasPrefix(ua, "Mozilla/") {
		switch {
		case strings.Contains(ua, "Edg/"):
			return "Edge"
		case strings.Contains(ua, "OPR/"):
			return "Opera"
		case strings.Contains(ua, "Firefox/"):
			return "Firefox"
		case strings.Contains(ua, "Chrome/"):
			return "Chrome"
		case strings.Contains(ua, "Safari/"):
			return "Safari"
		default:
			return "Browser"
		}
	}
	end := strings.IndexAny(ua, " (;")
	if end < 0 {
		end = len(ua)
	}
	token := ua[:end]
	slash := strings.IndexByte(token, '/')
	if slash < 0 {
		return token
	}
	dot := strings.IndexByte(token[slash+1:], '.')
	if dot < 0 {
		return token
	}
	return token[:slash+1+dot]
}
