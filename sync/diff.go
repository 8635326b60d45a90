package sync

import (
	"io/fs"
	"maps"
	"path"
	"slices"
)

// Kind is the type of a path.
type Kind uint8

// The kinds of path Diff compares. KindOther covers what is never synced
// (devices, fifos, sockets, hard link entries of an archive).
const (
	KindFile Kind = iota + 1
	KindDir
	KindSymlink
	KindOther
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "folder"
	case KindSymlink:
		return "symlink"
	case KindOther:
		return "special file"
	}
	return "unknown"
}

// specialBits are the mode bits that are never copied into containers.
const specialBits = fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// Info describes one path as Reconcile compares it.
type Info struct {
	Kind Kind

	// Mode holds the permission bits, plus setuid, setgid and sticky,
	// which a container path may have and a host path must not.
	Mode fs.FileMode

	// UID and GID are the owner. On the host side they are the owner the
	// container should have.
	UID, GID int

	Size int64  // files only
	Hash string // files only; set when sizes are equal and content must decide
	Link string // symlinks only: the target, with forward slashes
}

// Diff compares a host tree with the container's copy and returns the paths
// to copy and to delete. Both maps are keyed by slash path relative to the
// tree's root ("." for the root), and both results are sorted so that a
// folder comes before what it holds. Paths ignored on either side must be
// left out of both maps.
//
// A path is copied when the container lacks it or has another kind, or when
// its mode or owner differs, or its content: a file's size first, then its
// Hash, which both sides must set when the sizes are equal (a missing hash
// counts as different). A symlink is compared by target and owner. A folder
// is copied alone, not with what it holds.
//
// The root is never re-owned or re-moded: when both sides have a folder
// there, its mode and owner belong to the image. A single-file root is
// compared like any file.
//
// A path is deleted when only the container has it, unless it is under
// another deleted path, or under a path copied as a non-folder, which
// replaces the container's folder with everything in it.
func Diff(host, container map[string]Info) (copies, deletes []string) {
	for _, p := range slices.Sorted(maps.Keys(host)) {
		h := host[p]
		c, ok := container[p]
		if !ok || differs(p, h, c) {
			copies = append(copies, p)
		}
	}

	replaced := map[string]bool{}
	for _, p := range copies {
		if host[p].Kind != KindDir {
			replaced[p] = true
		}
	}
	deleted := map[string]bool{}
	for _, p := range slices.Sorted(maps.Keys(container)) {
		if _, ok := host[p]; ok || p == "." {
			// The root is never deleted, whatever the host has.
			continue
		}
		if hasAncestorIn(deleted, p) || hasAncestorIn(replaced, p) {
			continue
		}
		deleted[p] = true
		deletes = append(deletes, p)
	}
	return copies, deletes
}

// differs compares one path present on both sides.
func differs(p string, h, c Info) bool {
	if h.Kind != c.Kind {
		return true
	}
	if p == "." && h.Kind == KindDir {
		return false
	}
	if h.UID != c.UID || h.GID != c.GID {
		return true
	}
	switch h.Kind {
	case KindSymlink:
		return h.Link != c.Link
	case KindDir:
		return h.Mode != c.Mode
	case KindFile:
		return h.Mode != c.Mode || h.Size != c.Size || h.Hash == "" || h.Hash != c.Hash
	}
	return true
}

// joinRel returns the container path of a slash path relative to root,
// "." being root itself.
func joinRel(root, rel string) string {
	if rel == "." {
		return root
	}
	return path.Join(root, rel)
}
