package debug

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// procNetFiles list the TCP sockets of the network namespace, with their
// owners. A connection over IPv4 may be listed in either, depending on the
// family of the client's socket.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// TCP states in /proc/net/tcp that cannot be the live client end of an
// accepted connection: a socket in TIME_WAIT belongs to no one (uid 0) and
// may share the addresses of an earlier connection.
const (
	tcpTimeWait = "06"
	tcpListen   = "0A"
)

// peerUID returns the uid of the local socket whose own address is remote
// and whose peer is local: the client end of a connection the proxy
// accepted, seen from the other side. The uid is the one the kernel shows
// to this process's user namespace.
func peerUID(local, remote net.Addr) (int, error) {
	l, err := addrPort(local)
	if err != nil {
		return 0, err
	}
	r, err := addrPort(remote)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, file := range procNetFiles {
		uid, err := findSocketUID(file, r, l)
		if err == nil {
			return uid, nil
		}
		if !errors.Is(err, errPeerNotFound) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return 0, errs[0]
	}

	return 0, errPeerNotFound
}

func addrPort(a net.Addr) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("reading address %s: %w", a, err)
	}

	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// findSocketUID reads one /proc/net/tcp file for the socket with the given
// own and peer addresses. A missing file (a kernel without IPv6) holds no
// socket.
func findSocketUID(file string, own, peer netip.AddrPort) (int, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return 0, errPeerNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("reading the owners of TCP sockets: %w", err)
	}
	defer f.Close()

	sc := bufio.NewScanner(f)
	sc.Scan() // the column titles
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[3] == tcpTimeWait || fields[3] == tcpListen {
			continue
		}
		l, err := parseProcAddr(fields[1])
		if err != nil || l != own {
			continue
		}
		r, err := parseProcAddr(fields[2])
		if err != nil || r != peer {
			continue
		}
		uid, err := strconv.Atoi(fields[7])
		if err != nil {
			return 0, fmt.Errorf("reading %s: invalid uid %q", file, fields[7])
		}
		return uid, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading %s: %w", file, err)
	}

	return 0, errPeerNotFound
}

// parseProcAddr reads an address of /proc/net/tcp or tcp6: the IP as
// 32-bit words in hex, each in the machine's byte order, a colon, and the
// port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("invalid socket address %q", s)
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("invalid socket address %q", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("invalid socket port %q", s)
	}
	// Each word was printed as a number: turn it back into the bytes it
	// holds in memory, which are in network order.
	ip := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(ip)

	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
