//go:build linux

package supervisor

import (
	"fmt"
	"os"
	"path"
)

// newFileAPI returns the file API for cfg.SyncRoots, or nil when there are
// none or the supervisor does not run as root. It serves devd on the host,
// whose connections come from outside the container's pid namespace, and
// root in the container, which could write the files anyway. Another uid in
// the container, even the one of the host user who runs devd, is refused:
// the API writes as root.
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
	return &fileAPI{
		roots:   roots,
		allowed: func(peer peerInfo) bool { return peer.outside() || peer.uid == 0 },
	}, nil
}
