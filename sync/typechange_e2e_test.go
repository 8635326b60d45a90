package sync_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

// replaceWithDir turns the host path into a folder holding one file.
func replaceWithDir(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(p, "inside.txt"), "inside "+filepath.Base(p), 0o644)
}

// replaceWithFile turns the host path into a file.
func replaceWithFile(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	write(t, p, "now a file", 0o644)
}

func TestApplyTypeChangesEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	img := env.BusyboxImage()
	owner := filesync.Owner{UID: 1000, GID: 1000}

	for _, stopped := range []bool{false, true} {
		name := "running"
		if stopped {
			name = "stopped"
		}
		t.Run(name, func(t *testing.T) {
			id := env.RunContainer(enginetest.ContainerOptions{Name: "types-" + name, Image: img, Init: true})
			root := t.TempDir()
			write(t, filepath.Join(root, "file2dir"), "a file", 0o644)
			write(t, filepath.Join(root, "dir2file", "x", "y.txt"), "deep", 0o644)
			write(t, filepath.Join(root, "dir2link", "z.txt"), "z", 0o644)
			write(t, filepath.Join(root, "target", "t.txt"), "t", 0o644)
			link(t, "target", filepath.Join(root, "link2dir"))
			tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/types"}
			if _, err := applyPaths(env, id, tree, owner, root); err != nil {
				t.Fatal(err)
			}
			requireConverged(t, env, id, tree, owner)
			if stopped {
				stopContainer(t, env, id)
			}

			replaceWithDir(t, filepath.Join(root, "file2dir"))
			replaceWithFile(t, filepath.Join(root, "dir2file"))
			if err := os.RemoveAll(filepath.Join(root, "dir2link")); err != nil {
				t.Fatal(err)
			}
			link(t, "target", filepath.Join(root, "dir2link"))
			if err := os.Remove(filepath.Join(root, "link2dir")); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(root, "link2dir", "w.txt"), "w", 0o644)

			// What a watcher reports: each replaced path, and the files
			// that went away with the old folders.
			res, err := applyPaths(env, id, tree, owner,
				filepath.Join(root, "file2dir"),
				filepath.Join(root, "file2dir", "inside.txt"),
				filepath.Join(root, "dir2file"),
				filepath.Join(root, "dir2file", "x"),
				filepath.Join(root, "dir2file", "x", "y.txt"),
				filepath.Join(root, "dir2link"),
				filepath.Join(root, "dir2link", "z.txt"),
				filepath.Join(root, "link2dir"),
			)
			if err != nil {
				t.Fatalf("Apply of type changes: %v (none needs a delete, nor a running container)", err)
			}
			if res.Deleted != 0 {
				t.Errorf("deleted %d paths, want 0: the copies replace the old paths", res.Deleted)
			}
			requireConverged(t, env, id, tree, owner)
		})
	}
}

func TestApplyFolderRenamedOverAnotherEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	id := env.RunContainer(enginetest.ContainerOptions{Name: "renames", Image: env.BusyboxImage(), Init: true})
	owner := filesync.Owner{UID: 1000, GID: 1000}
	root := t.TempDir()
	write(t, filepath.Join(root, "x", "only-in-x.js"), "x", 0o644)
	write(t, filepath.Join(root, "x", "both.js"), "x's", 0o644)
	write(t, filepath.Join(root, "z", "both.js"), "z's", 0o644)
	write(t, filepath.Join(root, "z", "sub", "only-in-z.js"), "z", 0o644)
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/renames", Skip: skipNodeModules}
	if _, err := applyPaths(env, id, tree, owner, root); err != nil {
		t.Fatal(err)
	}
	sh(t, env, id, "mkdir -p /srv/renames/x/node_modules && echo kept > /srv/renames/x/node_modules/m.js")

	// A rename reports the folders, never the files they hold.
	if err := os.Rename(filepath.Join(root, "x"), filepath.Join(root, "y")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "z"), filepath.Join(root, "x")); err != nil {
		t.Fatal(err)
	}
	res, err := applyPaths(env, id, tree, owner, filepath.Join(root, "x"), filepath.Join(root, "y"), filepath.Join(root, "z"))
	if err != nil {
		t.Fatal(err)
	}
	// z and x/only-in-x.js are deleted.
	if res.Deleted != 2 {
		t.Errorf("deleted %d paths, want z and x's old file", res.Deleted)
	}
	requireConverged(t, env, id, tree, owner)
	if _, content, _ := statIn(t, env, id, "/srv/renames/x/node_modules/m.js"); content != "kept\n" {
		t.Errorf("ignored folder in the container = %q, want it left alone", content)
	}
}
