package sync

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/devdtool/devd/engine"
	"github.com/hashicorp/go-hclog"
)

// hostTree is a host folder as the container should hold it.
type hostTree struct {
	infos   map[string]Info  // by relative slash path
	entries map[string]Entry // how to write each path of infos

	// holes are relative paths left alone in the container, with
	// everything under them: links the policy skips, special files,
	// folders that could not be read.
	holes map[string]bool

	// ignored are relative paths that Skip matches with their host type;
	// the container's paths there, and under them, are left alone.
	ignored map[string]bool

	skipped []string // host paths of the holes, for the user
	errs    []error
}

// subtree is a folder of a tree that is compared as a whole: the tree's
// root for Reconcile, or a changed folder in a batch for Apply.
type subtree struct {
	tree *Tree  // gives Skip and the symlink policy's bounds
	host string // cleaned host folder, at or under tree.HostRoot
	ctr  string // its cleaned container path
}

// wholeTree is the subtree of a tree's root.
func wholeTree(t *Tree) subtree {
	return subtree{tree: t, host: filepath.Clean(t.HostRoot), ctr: path.Clean(t.ContainerRoot)}
}

// scanHost walks the subtree's host folder without following links and
// describes what the container should have, owned by owner. Paths are
// relative to the subtree.
func scanHost(s subtree, owner Owner, log hclog.Logger) (*hostTree, error) {
	t, root, croot := s.tree, s.host, s.ctr
	h := &hostTree{infos: map[string]Info{}, entries: map[string]Entry{}, holes: map[string]bool{}, ignored: map[string]bool{}}
	err := filepath.WalkDir(root, func(host string, d fs.DirEntry, err error) error {
		if host == root && err != nil {
			return err
		}
		rel := filepath.ToSlash(mustRel(root, host))
		if err != nil {
			if isGone(err) {
				return nil
			}
			h.errs = append(h.errs, fmt.Errorf("walking %s: %w", host, err))
			if d != nil && d.IsDir() {
				h.hole(rel, host)
			}
			return nil
		}
		if host != root && t.Skip != nil && t.Skip(host, d.IsDir()) {
			h.ignored[rel] = true
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if isGone(err) {
			return nil
		}
		if err != nil {
			h.errs = append(h.errs, fmt.Errorf("walking %s: %w", host, err))
			h.hole(rel, host)
			return nil
		}

		e := Entry{Tree: t, HostPath: host, ContainerPath: joinRel(croot, rel), Info: info}
		in := Info{Mode: info.Mode().Perm(), UID: owner.UID, GID: owner.GID}
		switch mode := info.Mode(); {
		case mode.IsDir():
			in.Kind = KindDir
		case mode.IsRegular():
			in.Kind, in.Size = KindFile, info.Size()
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(host)
			if isGone(err) {
				return nil
			}
			if err != nil {
				h.errs = append(h.errs, fmt.Errorf("reading link %s: %w", host, err))
				h.hole(rel, host)
				return nil
			}
			if ok, reason := keepLink(t, host, link); !ok {
				log.Warn("skipping symlink", "path", host, "target", link, "reason", reason)
				h.hole(rel, host)
				return nil
			}
			in.Kind, in.Mode, in.Link = KindSymlink, 0, filepath.ToSlash(link)
			e.LinkTarget = in.Link
		default:
			log.Debug("skipping special file", "path", host, "mode", mode.String())
			h.hole(rel, host)
			return nil
		}
		h.infos[rel] = in
		h.entries[rel] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading source folder %s: %w", root, err)
	}
	return h, nil
}

func (h *hostTree) hole(rel, host string) {
	delete(h.infos, rel)
	delete(h.entries, rel)
	h.holes[rel] = true
	h.skipped = append(h.skipped, host)
}

// hashFile returns the hex SHA-256 of the planned host file's content. A
// path that no longer leads to that file counts as gone.
func hashFile(name string, planned fs.FileInfo) (string, error) {
	f, _, err := openPlanned(name, planned)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// containerTree is the container's copy of a tree.
type containerTree struct {
	infos  map[string]Info
	exists bool // the root exists
}

// scanContainer reads the container's copy of the tree through the archive
// API and describes it. Paths that the tree ignores, and paths at or under
// a host hole, are left out. A path the host has is ignored when Skip
// matches it with the host's type. Any other path is ignored when Skip
// matches it with the container's type. A file is hashed only when the host
// has a file of the same size there.
func scanContainer(ctx context.Context, r Reader, id string, s subtree, host *hostTree) (*containerTree, error) {
	t, croot := s.tree, s.ctr
	src := croot
	if host.infos["."].Kind == KindDir {
		// Follows a root that is the container's own link to a folder, as
		// copies do.
		src = strings.TrimSuffix(croot, "/") + "/"
	}
	ct := &containerTree{infos: map[string]Info{}}
	rc, err := r.CopyFromContainer(ctx, id, src)
	if errors.Is(err, engine.ErrNotFound) {
		return ct, nil
	}
	if err != nil {
		return nil, rootProblem(ctx, r, id, s, err)
	}
	defer rc.Close()
	ct.exists = true

	hostRoot := s.host
	ignored := map[string]bool{}
	tr := tar.NewReader(rc)
	base := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return ct, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s from container %s: %w", croot, engine.ShortID(id), err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if base == "" {
			// The first entry is the root, named by its base name.
			base = name
		}
		rel := "."
		if name != base {
			var ok bool
			rel, ok = strings.CutPrefix(name, base+"/")
			if !ok || rel == "" || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") {
				continue
			}
		}

		isDir := hdr.Typeflag == tar.TypeDir
		if rel != "." && host.leftAlone(rel, isDir, ignored, t.Skip, hostRoot) {
			if isDir {
				ignored[rel] = true
			}
			continue
		}

		in := Info{
			Mode: hdr.FileInfo().Mode() & (fs.ModePerm | specialBits),
			UID:  hdr.Uid,
			GID:  hdr.Gid,
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			in.Kind = KindDir
		case tar.TypeReg:
			in.Kind, in.Size = KindFile, hdr.Size
			if h, ok := host.infos[rel]; ok && h.Kind == KindFile && h.Size == hdr.Size {
				sum := sha256.New()
				if _, err := io.Copy(sum, tr); err != nil {
					return nil, fmt.Errorf("reading %s from container %s: %w", joinRel(croot, rel), engine.ShortID(id), err)
				}
				in.Hash = hex.EncodeToString(sum.Sum(nil))
			}
		case tar.TypeSymlink:
			in.Kind, in.Mode, in.Link = KindSymlink, 0, hdr.Linkname
		default:
			in.Kind = KindOther
		}
		ct.infos[rel] = in
	}
}

// leftAlone reports whether the container's path rel, of the given type, is
// ignored or at or under a hole. below holds the container folders already
// left alone.
func (h *hostTree) leftAlone(rel string, isDir bool, below map[string]bool, skip func(string, bool) bool, hostRoot string) bool {
	if h.holes[rel] || h.ignored[rel] || hasAncestorIn(h.holes, rel) || hasAncestorIn(h.ignored, rel) || hasAncestorIn(below, rel) {
		return true
	}
	if _, onHost := h.infos[rel]; onHost || skip == nil {
		return false
	}
	return skip(filepath.Join(hostRoot, filepath.FromSlash(rel)), isDir)
}

// rootProblem explains why the container's copy of a tree cannot be read:
// usually the target is a file where the host has a folder.
func rootProblem(ctx context.Context, r Reader, id string, s subtree, cause error) error {
	croot := s.ctr
	rc, err := r.CopyFromContainer(ctx, id, croot)
	if err == nil {
		defer rc.Close()
		if hdr, err := tar.NewReader(rc).Next(); err == nil && hdr.Typeflag != tar.TypeDir {
			kind := KindOther
			switch hdr.Typeflag {
			case tar.TypeReg:
				kind = KindFile
			case tar.TypeSymlink:
				kind = KindSymlink
			}
			return fmt.Errorf("target %s is a %s in container %s, not a folder; check the target in the Compose file, or remove it from the image",
				croot, kind, engine.ShortID(id))
		}
	}
	return fmt.Errorf("reading %s from container %s (is one of its parent folders a file?): %w", croot, engine.ShortID(id), cause)
}

// mustRel is filepath.Rel for a path known to be under root.
func mustRel(root, p string) string {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return rel
}
