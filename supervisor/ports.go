package supervisor

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// tcpListenState is the state column of a listening socket in
// /proc/net/tcp and /proc/net/tcp6.
const tcpListenState = "0A"

// listener is a listening TCP socket from a /proc/net/tcp table.
type listener struct {
	port  int
	inode uint64 // the socket's inode, to find the process holding it
}

// parseListeners returns the listening sockets in a /proc/net/tcp or
// /proc/net/tcp6 table. Connections in other states (TIME_WAIT after a
// server's exit among them) do not keep a server from binding its port, so
// only listeners count.
func parseListeners(r io.Reader) ([]listener, error) {
	var out []listener
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != tcpListenState {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			return nil, fmt.Errorf("parsing local address %q", f[1])
		}
		port, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil {
			return nil, fmt.Errorf("parsing port of local address %q: %w", f[1], err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing inode %q: %w", f[9], err)
		}
		out = append(out, listener{port: int(port), inode: inode})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// busyPorts returns the ports of want that one of listeners listens on, in
// the order of want, each once, with the inodes of their sockets.
func busyPorts(want []int, listeners []listener) map[int][]uint64 {
	busy := map[int][]uint64{}
	for _, p := range want {
		for _, l := range listeners {
			if l.port == p {
				busy[p] = append(busy[p], l.inode)
			}
		}
	}
	return busy
}
