package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"syscall"

	"github.com/devdtool/devd/engine"
	filesync "github.com/devdtool/devd/sync"
)

// The file API lets devd copy and delete synced files through the
// supervisor's socket, which costs about a millisecond, instead of the
// engine's archive API and an exec of rm, which cost tens of milliseconds
// each. The supervisor serves it only when it runs as root, so that it can
// give files the owner devd asks for, and only for the folders named with
// --sync-root: every path outside them is rejected.

// maxRemoveBody caps the size of a remove request's body.
const maxRemoveBody = 8 << 20

// errForbidden wraps requests that the file API rejects for their origin or
// their paths.
var errForbidden = errors.New("forbidden")

// fileAPI serves the file requests for a set of synced folders.
type fileAPI struct {
	roots []string

	// allowed reports whether a peer may use the file API.
	allowed func(peer peerInfo) bool
}

// PathStat is the response to a stat request; Mode is an io/fs.FileMode.
type PathStat struct {
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	Mode       uint32 `json:"mode"`
	LinkTarget string `json:"link_target,omitempty"`
}

// removeRequest is the body of a remove request.
type removeRequest struct {
	Root  string   `json:"root"`
	Paths []string `json:"paths"`
}

// peerKey is the context key of the connection's peer uid.
type peerKey struct{}

// peerInfo is the credentials of a connection's peer: its uid, and its pid
// in the supervisor's pid namespace, which is 0 for a process outside it.
type peerInfo struct {
	uid uint32
	pid int32
	ok  bool // false when the credentials could not be read
}

// outside reports whether the peer runs outside the container's pid
// namespace, as devd on the host does.
func (p peerInfo) outside() bool { return p.ok && p.pid == 0 }

// withPeer returns ctx carrying what is known of the connection's peer.
func withPeer(ctx context.Context, peer peerInfo) context.Context {
	return context.WithValue(ctx, peerKey{}, peer)
}

// guardPeers serves only peers outside the container (devd on the host),
// root, and the supervisor's own uid, on every route. The socket file must
// be writable by any uid, so this is its access check.
func guardPeers(h http.Handler, own uint32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, _ := r.Context().Value(peerKey{}).(peerInfo)
		if !peer.ok || !(peer.outside() || peer.uid == 0 || peer.uid == own) {
			writeError(w, fmt.Errorf("%w: the supervisor serves only devd, root and uid %d in the container (peer uid %d)", errForbidden, own, peer.uid))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// register adds the file API's routes to mux.
//
//	POST /files/extract   tar body, as WriteTar builds it; returns counts
//	GET  /files/stat      ?path=P; a trailing slash follows a final link
//	GET  /files/archive   ?path=P; the tar of P named from its base name
//	POST /files/remove    {"root": R, "paths": [...]} removes paths under R,
//	                      which is a sync root or lies under one
func (f *fileAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /files/extract", f.guard(func(w http.ResponseWriter, r *http.Request) {
		stats, err := filesync.Extract(r.Body, f.roots)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, stats)
	}))
	mux.HandleFunc("GET /files/stat", f.guard(func(w http.ResponseWriter, r *http.Request) {
		p, err := f.pathParam(r)
		if err != nil {
			writeError(w, err)
			return
		}
		st, err := filesync.StatLocal(f.rootOf(p), p)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, PathStat{Name: st.Name, Size: st.Size, Mode: uint32(st.Mode), LinkTarget: st.LinkTarget})
	}))
	mux.HandleFunc("GET /files/archive", f.guard(func(w http.ResponseWriter, r *http.Request) {
		p, err := f.pathParam(r)
		if err != nil {
			writeError(w, err)
			return
		}
		root := f.rootOf(p)
		if _, err := filesync.StatLocal(root, p); err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-tar")
		// A failure after the header was sent cuts the stream short, which
		// the client sees as a broken archive.
		_ = filesync.ArchiveLocal(w, root, p)
	}))
	mux.HandleFunc("POST /files/remove", f.guard(func(w http.ResponseWriter, r *http.Request) {
		var req removeRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxRemoveBody)).Decode(&req); err != nil {
			writeError(w, fmt.Errorf("%w: reading the remove request: %w", errBadRequest, err))
			return
		}
		if path.Clean(req.Root) != req.Root || !underRoots(f.roots, req.Root) {
			writeError(w, fmt.Errorf("%w: %s is not in a synced folder", errForbidden, req.Root))
			return
		}
		for _, p := range req.Paths {
			if path.Clean(p) != p || p == req.Root || !underRoots([]string{req.Root}, p) {
				writeError(w, fmt.Errorf("%w: %q is not strictly under %s", errForbidden, p, req.Root))
				return
			}
		}
		if err := filesync.RemoveLocal(f.rootOf(req.Root), req.Paths); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	}))
}

// guard rejects requests from peers that may not use the file API.
func (f *fileAPI) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		peer, _ := r.Context().Value(peerKey{}).(peerInfo)
		if !peer.ok || !f.allowed(peer) {
			writeError(w, fmt.Errorf("%w: the file API serves only devd and root in the container (peer uid %d)", errForbidden, peer.uid))
			return
		}
		h(w, r)
	}
}

// pathParam returns the path parameter, which must be a synced folder or lie
// under one.
func (f *fileAPI) pathParam(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	clean := path.Clean(p)
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%w: path %q must be absolute", errBadRequest, p)
	}
	if underRoots(f.roots, clean) {
		return p, nil
	}
	return "", fmt.Errorf("%w: %s is not in a synced folder", errForbidden, clean)
}

// rootOf returns the sync root that p, a path that pathParam or the remove
// handler accepted, belongs to: the longest that contains it.
func (f *fileAPI) rootOf(p string) string {
	clean, best := path.Clean(p), ""
	for _, r := range f.roots {
		if underRoots([]string{r}, clean) && len(r) > len(best) {
			best = r
		}
	}
	return best
}

// rootList returns the roots served, or nil for a nil fileAPI.
func (f *fileAPI) rootList() []string {
	if f == nil {
		return nil
	}
	return slices.Clone(f.roots)
}

// fileStatus maps a file API error to its HTTP status, or 0 when it is not
// one of the file API's errors.
func fileStatus(err error) int {
	switch {
	case errors.Is(err, errForbidden), errors.Is(err, filesync.ErrOutsideTree):
		return http.StatusForbidden
	case errors.Is(err, engine.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return http.StatusInsufficientStorage
	}
	return 0
}

// Files reaches a container's synced files through the supervisor in it:
// copies, stats, reads and deletes under Roots go over the control socket,
// and everything else through Engine. It implements the interfaces of the
// sync package that Apply and Reconcile look for.
type Files struct {
	Engine filesync.Reconciler
	Client *Client
	Roots  []string
}

var (
	_ filesync.Reconciler = (*Files)(nil)
	_ filesync.Remover    = (*Files)(nil)
	_ filesync.Stater     = (*Files)(nil)
)

// CopyToContainer extracts a stream meant for "/" through the supervisor,
// which rejects entries outside Roots.
func (f *Files) CopyToContainer(ctx context.Context, id, dstDir string, content io.Reader) error {
	if dstDir != "/" {
		return f.Engine.CopyToContainer(ctx, id, dstDir, content)
	}
	_, err := f.Client.Extract(ctx, content)
	return stoppedIfUnreachable(err)
}

// Exec runs a command through the engine.
func (f *Files) Exec(ctx context.Context, id string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error) {
	return f.Engine.Exec(ctx, id, cmd, opts)
}

// StatPath stats paths under Roots through the supervisor, others through
// the engine when it can.
func (f *Files) StatPath(ctx context.Context, id, p string) (engine.PathStat, error) {
	if f.covers(p) {
		st, err := f.Client.StatPath(ctx, p)
		return st, stoppedIfUnreachable(err)
	}
	st, ok := f.Engine.(filesync.Stater)
	if !ok {
		return engine.PathStat{}, fmt.Errorf("statting %s: the engine client cannot stat paths", p)
	}
	return st.StatPath(ctx, id, p)
}

// CopyFromContainer reads paths under Roots through the supervisor.
func (f *Files) CopyFromContainer(ctx context.Context, id, p string) (io.ReadCloser, error) {
	if f.covers(p) {
		rc, err := f.Client.Archive(ctx, p)
		return rc, stoppedIfUnreachable(err)
	}
	return f.Engine.CopyFromContainer(ctx, id, p)
}

// RemovePaths deletes through the supervisor.
func (f *Files) RemovePaths(ctx context.Context, _ string, root string, paths []string) error {
	return stoppedIfUnreachable(f.Client.Remove(ctx, root, paths))
}

// covers reports whether p is one of Roots or lies under one.
func (f *Files) covers(p string) bool {
	return underRoots(f.Roots, path.Clean(p))
}

// underRoots reports whether the clean path p is one of roots or lies
// under one.
func underRoots(roots []string, p string) bool {
	for _, r := range roots {
		if p == r || (len(p) > len(r) && p[:len(r)] == r && p[len(r)] == '/') {
			return true
		}
	}
	return false
}

// stoppedIfUnreachable wraps a failed connection to a socket that no
// supervisor serves, as after its container stopped, in sync.ErrNeedsRunning.
// The work is then kept until the container runs again.
func stoppedIfUnreachable(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("%w: %w", filesync.ErrNeedsRunning, err)
	}
	return err
}
