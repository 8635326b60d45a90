//go:build !linux

package debug

import "net"

// peerUID is not implemented here: only Linux lists the owners of TCP
// sockets in a file that needs no privilege. The proxy then accepts every
// local user, as the debugger itself would.
func peerUID(local, remote net.Addr) (int, error) {
	return 0, errPeerUnsupported
}
