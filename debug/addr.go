package debug

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// IsLoopback reports whether the host of addr ("host:port", "[::1]:port" or
// a host alone) is a loopback address: 127.0.0.0/8, ::1 or "localhost".
// An empty host means all interfaces and is not loopback.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}

	return ip.Unmap().IsLoopback()
}

// listenAddr is a parsed listen address.
type listenAddr struct {
	host string // as written, empty for all interfaces
	port int
}

// parseListen reads "host:port", "[v6]:port" or a bare port meaning
// 127.0.0.1.
func parseListen(s string) (listenAddr, error) {
	if port, err := strconv.Atoi(s); err == nil {
		s = net.JoinHostPort(defaultHost, strconv.Itoa(port))
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return listenAddr{}, fmt.Errorf("expected host:port or a port number: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > maxPort {
		return listenAddr{}, fmt.Errorf("invalid port %q, expected a number from 1 to %d", portStr, maxPort)
	}

	return listenAddr{host: host, port: port}, nil
}

func (a listenAddr) String() string {
	return net.JoinHostPort(a.host, strconv.Itoa(a.port))
}

// overlaps reports whether listening on a and on b would clash: same port,
// and the same host or a wildcard host on either side.
func (a listenAddr) overlaps(b listenAddr) bool {
	if a.port != b.port {
		return false
	}
	ha, hb := canonicalHost(a.host), canonicalHost(b.host)

	return ha == hb || ha == "" || hb == ""
}

// canonicalHost maps the spellings of one host to one string. Wildcard
// hosts become "".
func canonicalHost(h string) string {
	if strings.EqualFold(h, "localhost") {
		return defaultHost
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return strings.ToLower(h)
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		return ""
	}

	return ip.String()
}
