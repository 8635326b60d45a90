package sync

import (
	"path"
	"path/filepath"
)

// keepLink applies the symlink policy to the host link at host whose target
// is link: it is copied as a link only when the target is relative and stays
// inside the tree once cleaned. Otherwise it returns the reason to skip it.
//
// The check is made on the path relative to the tree's root, which is the
// same on the host and in the container. So a target that leaves the tree
// and comes back through the root folder's name ("../src/x" in a tree whose
// host root is named src) is skipped: in the container the root has another
// name. An absolute target names a host path, which means something else in
// the container, so it is skipped even when it points into the tree. Links
// are never followed, so a loop ("loop -> .") is just a link like any other.
func keepLink(t *Tree, host, link string) (ok bool, reason string) {
	if filepath.IsAbs(link) {
		return false, "symlink has an absolute target"
	}
	dir, err := filepath.Rel(filepath.Clean(t.HostRoot), filepath.Dir(host))
	if err != nil || escapes(dir) || escapes(filepath.Join(dir, link)) {
		return false, "symlink points outside the synced folder"
	}
	return true, ""
}

// linkStaysWithin reports whether a relative link target, placed at the
// container path p, stays under root once cleaned. It guards what reaches
// the tar stream, whatever built the entry.
func linkStaysWithin(root, p, link string) bool {
	if link == "" || path.IsAbs(link) {
		return false
	}
	return within(root, path.Join(path.Dir(p), link))
}
