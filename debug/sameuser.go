package debug

import (
	"errors"
	"net"
	"os"
)

// SameUser reports whether the process at the other end of a loopback
// connection runs as the user running devd. On Linux the kernel's socket
// table names the owner of the connecting socket; on other systems the
// check is not available and SameUser returns true. A loopback peer whose
// owner cannot be found is not the same user.
func SameUser(c net.Conn) bool {
	uid, err := peerUID(c.LocalAddr(), c.RemoteAddr())
	switch {
	case err == nil:
		return uid == os.Getuid()
	case errors.Is(err, errPeerUnsupported):
		return true
	}
	return false
}

// SameUserListener wraps a loopback listener so that Accept returns only
// connections from the user running devd and closes the others at once.
// It is safe for concurrent use as its Listener is.
type SameUserListener struct {
	net.Listener
}

// Accept waits for the next connection from the same user.
func (l SameUserListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if SameUser(c) {
			return c, nil
		}
		_ = c.Close()
	}
}
