package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

// e2eTimeout bounds each Apply against the engine.
const e2eTimeout = 30 * time.Second

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
		requireConverged(t, env, id, tree, owner)
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
		requireConverged(t, env, id, tree, owner)
	})

	t.Run("deleting what is not there", func(t *testing.T) {
		res := apply(filepath.Join(root, "never-existed"))
		if res.Deleted != 1 {
			t.Errorf("result = %+v, want the delete counted as done", res)
		}
	})
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
