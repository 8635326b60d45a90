//go:build linux

package supervisor

import (
	"fmt"
	"os"
	"path"
	"syscall"
)

// newFileAPI returns the file API for cfg.SyncRoots, or nil when there are
// none or the supervisor does not run as root. Besides root, it serves the
// owner of the control folder: the host user who runs devd, whose uid the
// kernel reports for connections through the bind-mounted socket.
func newFileAPI(cfg Config) (*fileAPI, error) {
	var roots []string
	for _, r := range cfg.SyncRoots {
		if !path.IsAbs(r) || path.Clean(r) != r || r == "/" {
			return nil, fmt.Errorf("%w: sync root %q must be an absolute, clean path other than /", ErrInvalidConfig, r)
		}
		roots = append(roots, r)
	}
	if len(roots) == 0 || os.Geteuid() != 0 {
		return nil, nil
	}
	hostUID := uint32(0)
	if info, err := os.Stat(cfg.ControlDir); err == nil {
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			hostUID = st.Uid
		}
	}
	return &fileAPI{
		roots:   roots,
		allowed: func(uid uint32) bool { return uid == 0 || uid == hostUID },
	}, nil
}
