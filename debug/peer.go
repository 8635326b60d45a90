package debug

import (
	"errors"
	"net"
	"os"

	"github.com/hashicorp/go-hclog"
)

// errPeerNotFound is returned by peerUID when no local socket is the other
// end of the connection: the peer is on another machine, or has already
// closed its socket.
var errPeerNotFound = errors.New("no local socket is the other end of the connection")

// errPeerUnsupported is returned by peerUID where the owner of a TCP peer
// cannot be looked up.
var errPeerUnsupported = errors.New("looking up the user of a TCP peer is not supported on this system")

// allowPeer reports whether the process at the other end of c may use the
// debugger: it runs as the user running devd, or it is on another machine
// (only a listener on a non-loopback address, which needs allow_remote,
// receives such connections), or the check is off. A rejection is logged
// at debug level.
func (p *Proxy) allowPeer(c net.Conn) bool {
	if p.cfg.AllowOtherUsers {
		return true
	}
	uid, err := peerUID(c.LocalAddr(), c.RemoteAddr())
	switch {
	case err == nil && uid == os.Getuid():
		return true
	case err == nil:
		p.log.Debug("rejecting debugger connection from another user", "remote_addr", c.RemoteAddr().String(), "uid", uid, "devd_uid", os.Getuid())
		return false
	case errors.Is(err, errPeerUnsupported):
		return true
	case errors.Is(err, errPeerNotFound) && !IsLoopback(c.RemoteAddr().String()):
		return true
	}

	// A loopback peer that cannot be looked up is rejected, because its user
	// is unknown. The first of a run of failures is logged as a warning.
	p.mu.Lock()
	p.peerFailures++
	n := p.peerFailures
	p.mu.Unlock()
	level := hclog.Debug
	if n == 1 {
		level = hclog.Warn
	}
	p.log.Log(level, "rejecting debugger connection whose user cannot be checked", "remote_addr", c.RemoteAddr().String(), "error", err, "failure_count", n)

	return false
}
