package sync_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

// e2eTimeout bounds each Apply against the engine.
const e2eTimeout = 30 * time.Second

// node is what the test compares between host and container.
type node struct {
	Type     string      // dir, file or link
	Perm     fs.FileMode // permission bits, plus setuid, setgid and sticky
	UID, GID int
	Content  string
	Link     string
}

func TestApplyEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	img := env.BusyboxImage()
	id := env.RunContainer(enginetest.ContainerOptions{Name: "sync", Image: img, Init: true})

	root := filepath.Join(t.TempDir(), "api")
	write(t, filepath.Join(root, "src", "index.js"), "console.log('v1')\n", 0o644)
	write(t, filepath.Join(root, "src", "lib", "util.js"), "module.exports = 1\n", 0o600)
	write(t, filepath.Join(root, "READ ME.md"), "# héllo\n", 0o644)
	write(t, filepath.Join(root, "empty"), "", 0o644)
	write(t, filepath.Join(root, "bin", "run"), "#!/bin/sh\n", 0o755|os.ModeSetuid)
	write(t, filepath.Join(root, "node_modules", "pkg", "index.js"), "ignored", 0o644)
	link(t, "../src/index.js", filepath.Join(root, "bin", "entry"))
	link(t, "../../elsewhere", filepath.Join(root, "bin", "outside"))

	skip := func(p string, isDir bool) bool { return isDir && filepath.Base(p) == "node_modules" }
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/app", Skip: skip}
	owner := filesync.Owner{UID: 1000, GID: 1000}
	apply := func(paths ...string) filesync.Result {
		t.Helper()
		changes := make([]filesync.Change, len(paths))
		for i, p := range paths {
			changes[i] = filesync.Change{Tree: tree, HostPath: p}
		}
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		res, err := filesync.Apply(ctx, env.Engine, id, changes, owner, nil)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		return res
	}

	t.Run("initial sync", func(t *testing.T) {
		res := apply(root)
		if !reflect.DeepEqual(res.Skipped, []string{filepath.Join(root, "bin", "outside")}) {
			t.Errorf("skipped = %q, want the link leaving the tree", res.Skipped)
		}
		compareTrees(t, hostTree(t, root, skip, owner), containerTree(t, env, id, "/srv/app"))
	})

	t.Run("edits, new folders and deletes", func(t *testing.T) {
		write(t, filepath.Join(root, "src", "index.js"), "console.log('v2')\n", 0o644)
		write(t, filepath.Join(root, "new", "deep", "file.txt"), "new", 0o644)
		write(t, filepath.Join(root, "other", "x", "only-file-reported.txt"), "other", 0o644)
		if err := os.RemoveAll(filepath.Join(root, "src", "lib")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(root, "READ ME.md")); err != nil {
			t.Fatal(err)
		}

		// What a watcher reports: a new folder alone, or a new file alone,
		// the removed folder and its file, the edited and removed files.
		res := apply(
			filepath.Join(root, "src", "index.js"),
			filepath.Join(root, "new"),
			filepath.Join(root, "other", "x", "only-file-reported.txt"),
			filepath.Join(root, "src", "lib"),
			filepath.Join(root, "src", "lib", "util.js"),
			filepath.Join(root, "READ ME.md"),
		)
		if res.Deleted != 2 {
			t.Errorf("deleted %d paths, want 2 (the folder covers its file)", res.Deleted)
		}
		compareTrees(t, hostTree(t, root, skip, owner), containerTree(t, env, id, "/srv/app"))
	})

	t.Run("deleting what is not there", func(t *testing.T) {
		res := apply(filepath.Join(root, "never-existed"))
		if res.Deleted != 1 {
			t.Errorf("result = %+v, want the delete counted as done", res)
		}
	})
}

// hostTree describes the host folder as the container should hold it.
func hostTree(t *testing.T, root string, skip func(string, bool) bool, owner filesync.Owner) map[string]node {
	t.Helper()
	tree := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip(p, d.IsDir()) {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		// The container gets the permission bits only.
		n := node{Perm: info.Mode().Perm(), UID: owner.UID, GID: owner.GID}
		switch {
		case d.IsDir():
			n.Type = "dir"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(target, "../src") {
				return nil // the link leaving the tree is not synced
			}
			n.Type, n.Link, n.Perm = "link", target, 0
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.Type, n.Content = "file", string(data)
		}
		tree[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// containerTree reads a container folder back through the archive API.
func containerTree(t *testing.T, env *enginetest.Env, id, dir string) map[string]node {
	t.Helper()
	rc, err := env.Engine.CopyFromContainer(context.Background(), id, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tree := map[string]node{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tree
		}
		if err != nil {
			t.Fatal(err)
		}
		// Entries are named from the folder's base name.
		_, rel, _ := strings.Cut(strings.TrimSuffix(hdr.Name, "/"), "/")
		if rel == "" {
			rel = "."
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
			n.Type, n.Content = "file", string(data)
		default:
			n.Type = fmt.Sprintf("type %c", hdr.Typeflag)
		}
		tree[rel] = n
	}
}

func compareTrees(t *testing.T, host, ctr map[string]node) {
	t.Helper()
	for _, p := range slices.Sorted(maps.Keys(host)) {
		c, ok := ctr[p]
		if !ok {
			t.Errorf("%s: missing in the container", p)
			continue
		}
		if c != host[p] {
			t.Errorf("%s: container has %+v, expected %+v from the host", p, c, host[p])
		}
	}
	for p := range ctr {
		if _, ok := host[p]; !ok {
			t.Errorf("%s: in the container, not on the host", p)
		}
	}
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}
