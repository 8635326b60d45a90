//go:build !linux && !darwin

package control

import (
	"net"
	"os"
)

// peerUID returns the current user's ID: this system has no peer credential
// check here.
//
// NOTE: on systems other than Linux and macOS only the socket's mode 0600
// and its private folder keep other users out.
func peerUID(c *net.UnixConn) (int, error) {
	return os.Getuid(), nil
}
