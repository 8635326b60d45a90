package sync_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

// node is what end-to-end tests compare between host and container. The
// root (".") is compared by type only: its owner and mode belong to the
// image.
type node struct {
	Type     string      // dir, file, link or the tar type of anything else
	Perm     fs.FileMode // permission bits, plus setuid, setgid and sticky
	UID, GID int
	Hash     string
	Link     string
}

// snapshot is a tree as the container should hold it, or holds it.
type snapshot struct {
	nodes map[string]node // by slash path relative to the root

	// holes are host paths the policy leaves alone in the container, with
	// what is under them: links it skips, special files.
	holes map[string]bool

	// ignored are host paths that Skip matches with their host type.
	ignored map[string]bool
}

// excluded reports whether rel, in the container, is left alone: at or
// under a hole or an ignored host path, or, where the host has nothing,
// ignored with the container's type.
func (s snapshot) excluded(rel string, isDir bool, skip func(string, bool) bool, hostRoot string) bool {
	for p := rel; p != "."; p = path.Dir(p) {
		if s.holes[p] || s.ignored[p] {
			return true
		}
		if _, onHost := s.nodes[p]; !onHost && skip != nil && skip(filepath.Join(hostRoot, filepath.FromSlash(p)), p != rel || isDir) {
			return true
		}
	}
	return false
}

// hostSnapshot describes the host folder as the container should hold it.
// It applies the documented policy on its own: links are kept when relative
// and inside the root once cleaned, and special files are left alone. The
// expected owner replaces the host's.
func hostSnapshot(t testing.TB, root string, skip func(string, bool) bool, owner filesync.Owner) snapshot {
	t.Helper()
	s := snapshot{nodes: map[string]node{}, holes: map[string]bool{}, ignored: map[string]bool{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && skip != nil && skip(p, d.IsDir()) {
			rel, _ := filepath.Rel(root, p)
			s.ignored[filepath.ToSlash(rel)] = true
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		n := node{Perm: info.Mode().Perm(), UID: owner.UID, GID: owner.GID}
		switch {
		case d.IsDir():
			n.Type = "dir"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			// Relative to the root, as in the container, where the root
			// folder has another name.
			dir, _ := filepath.Rel(root, filepath.Dir(p))
			inside := filepath.Join(dir, target)
			if filepath.IsAbs(target) || inside == ".." || strings.HasPrefix(inside, "../") {
				s.holes[rel] = true
				return nil
			}
			n.Type, n.Link, n.Perm = "link", target, 0
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.Type, n.Hash = "file", hashOf(data)
		default:
			s.holes[rel] = true
			return nil
		}
		if rel == "." {
			n = node{Type: n.Type}
		}
		s.nodes[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// containerSnapshot reads a container folder back through the archive API,
// leaving out what the host snapshot excludes.
func containerSnapshot(t testing.TB, r filesync.Reader, id string, tree *filesync.Tree, host snapshot) map[string]node {
	t.Helper()
	rc, err := r.CopyFromContainer(context.Background(), id, tree.ContainerRoot+"/")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	nodes := map[string]node{}
	tr := tar.NewReader(rc)
	base := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nodes
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if base == "" {
			base = name
		}
		rel := "."
		if name != base {
			rel = strings.TrimPrefix(name, base+"/")
		}
		isDir := hdr.Typeflag == tar.TypeDir
		if rel != "." && host.excluded(rel, isDir, tree.Skip, tree.HostRoot) {
			continue
		}
		// Special bits are kept here, so that one carried over shows up.
		special := fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
		n := node{Perm: hdr.FileInfo().Mode() & special, UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeDir:
			n.Type = "dir"
		case tar.TypeSymlink:
			n.Type, n.Link, n.Perm = "link", hdr.Linkname, 0
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			n.Type, n.Hash = "file", hashOf(data)
		default:
			n.Type = fmt.Sprintf("type %c", hdr.Typeflag)
		}
		if rel == "." {
			n = node{Type: n.Type}
		}
		nodes[rel] = n
	}
}

// diffSnapshots lists every difference between the expected and actual
// trees, one line each; none means equal.
func diffSnapshots(want, got map[string]node) []string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[p]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: missing in the container, want %+v", p, want[p]))
		case g != want[p]:
			out = append(out, fmt.Sprintf("%s: container has %+v, want %+v", p, g, want[p]))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[p]; !ok {
			out = append(out, fmt.Sprintf("%s: in the container (%+v), not on the host", p, got[p]))
		}
	}
	return out
}

// requireConverged fails the test unless the container holds the host tree.
func requireConverged(t testing.TB, env *enginetest.Env, id string, tree *filesync.Tree, owner filesync.Owner) {
	t.Helper()
	host := hostSnapshot(t, tree.HostRoot, tree.Skip, owner)
	if diffs := diffSnapshots(host.nodes, containerSnapshot(t, env.Engine, id, tree, host)); len(diffs) > 0 {
		t.Fatalf("container differs from the host:\n%s", strings.Join(diffs, "\n"))
	}
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
