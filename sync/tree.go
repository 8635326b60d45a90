package sync

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// ErrOutsideTree means a path does not belong to the tree it was mapped with.
var ErrOutsideTree = errors.New("path is outside the synced tree")

// Tree pairs a host folder, or a single host file, with its place in a
// container.
type Tree struct {
	// HostRoot is absolute and cleaned. It should be free of symlinks
	// (filepath.EvalSymlinks), since links are never followed.
	HostRoot string

	// ContainerRoot is absolute, with forward slashes. For a single-file
	// HostRoot it is the target file.
	ContainerRoot string

	// Skip reports paths that are ignored, with whether they are folders. A
	// skipped folder is not walked. Ignored paths are left alone on both
	// sides: never copied, and never deleted from the container, where
	// Reconcile calls Skip with the host path that a container path maps to.
	// Nil skips nothing.
	Skip func(hostPath string, isDir bool) bool
}

// Owner is the user and group that copied files get in the container. The
// zero value is root.
type Owner struct {
	UID, GID int
}

// ContainerPath maps a host path under HostRoot to its container path. It is
// the only place where that mapping is done: the path relative to HostRoot,
// with forward slashes, joined under ContainerRoot. A path outside HostRoot,
// or one that would land outside ContainerRoot, gives an error wrapping
// ErrOutsideTree.
func (t Tree) ContainerPath(hostPath string) (string, error) {
	if !filepath.IsAbs(t.HostRoot) || !path.IsAbs(t.ContainerRoot) {
		return "", fmt.Errorf("mapping %s: tree roots must be absolute, have %q and %q", hostPath, t.HostRoot, t.ContainerRoot)
	}
	if !filepath.IsAbs(hostPath) {
		return "", fmt.Errorf("mapping %s: %w: not an absolute path", hostPath, ErrOutsideTree)
	}
	rel, err := filepath.Rel(filepath.Clean(t.HostRoot), filepath.Clean(hostPath))
	if err != nil || escapes(rel) {
		return "", fmt.Errorf("mapping %s: %w: not under %s", hostPath, ErrOutsideTree, t.HostRoot)
	}

	root := path.Clean(t.ContainerRoot)
	target := path.Join(root, filepath.ToSlash(rel))
	if !within(root, target) {
		return "", fmt.Errorf("mapping %s: %w: %s is not under %s", hostPath, ErrOutsideTree, target, root)
	}
	return target, nil
}

// escapes reports whether a relative path climbs out of its base. A name that
// only starts with two dots ("..data") does not.
func escapes(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel)
}

// within reports whether the slash path p is root or below it.
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

// hostWithin reports whether the host path p is root or below it. Both are
// cleaned paths.
func hostWithin(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && !escapes(rel)
}
