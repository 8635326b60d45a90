package control

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
)

// peerKey is the context key of a connection's peer.
type peerKey struct{}

// peer is the kernel's record of the process at the other end of a
// connection.
type peer struct {
	uid int
	err error // set when the user could not be read
}

// withPeer records the peer's user ID in the connection's context. It is
// the http.Server ConnContext hook, so the credentials are read once per
// connection.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return context.WithValue(ctx, peerKey{}, peer{err: fmt.Errorf("connection from %s is not over a Unix socket", c.RemoteAddr())})
	}
	uid, err := peerUID(uc)
	return context.WithValue(ctx, peerKey{}, peer{uid: uid, err: err})
}

// sameUser rejects, with 403, requests from processes of another user. The
// socket's mode already keeps them out; this check still holds when the
// mode or the folder's mode was loosened.
func sameUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := r.Context().Value(peerKey{}).(peer)
		switch {
		case !ok:
			writeError(w, http.StatusForbidden, "the control API accepts only connections on its Unix socket")
		case p.err != nil:
			writeError(w, http.StatusForbidden, p.err.Error())
		case p.uid != os.Getuid():
			writeError(w, http.StatusForbidden, fmt.Sprintf("uid %d may not use this devd: it accepts only its own user, uid %d", p.uid, os.Getuid()))
		default:
			next.ServeHTTP(w, r)
		}
	})
}
