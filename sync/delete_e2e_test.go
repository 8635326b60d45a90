package sync_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

func TestDeletesEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	owner := filesync.Owner{UID: 1000, GID: 1000}

	// setup syncs a tree with a file and a folder to delete, removes them
	// on the host, adds a file, and returns the changes to apply.
	setup := func(t *testing.T, id string) (*filesync.Tree, []string) {
		t.Helper()
		root := t.TempDir()
		write(t, filepath.Join(root, "old.js"), "old", 0o644)
		write(t, filepath.Join(root, "olddir", "x.js"), "x", 0o644)
		tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/del"}
		if _, err := applyPaths(env, id, tree, owner, root); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(root, "old.js")); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(root, "olddir")); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, "new.js"), "new", 0o644)
		return tree, []string{filepath.Join(root, "old.js"), filepath.Join(root, "olddir"), filepath.Join(root, "new.js")}
	}

	t.Run("no rm, devd's supervisor present", func(t *testing.T) {
		id := env.RunContainer(enginetest.ContainerOptions{Name: "norm-sup", Image: noRmImage(t, env, true), Init: true})
		tree, paths := setup(t, id)
		res, err := applyPaths(env, id, tree, owner, paths...)
		if err != nil || res.Deleted != 2 || res.Copied != 1 {
			t.Fatalf("Apply = %+v, %v; want 1 copied, 2 deleted through the supervisor", res, err)
		}
		requireConverged(t, env, id, tree, owner)
	})

	t.Run("no rm and no supervisor", func(t *testing.T) {
		id := env.RunContainer(enginetest.ContainerOptions{Name: "norm", Image: noRmImage(t, env, false), Init: true})
		tree, paths := setup(t, id)
		res, err := applyPaths(env, id, tree, owner, paths...)
		if !errors.Is(err, filesync.ErrNoRemover) || !strings.Contains(err.Error(), "devd up") {
			t.Errorf("Apply error = %v, want ErrNoRemover saying to use devd up", err)
		}
		if res.Copied != 1 || res.Deleted != 0 {
			t.Errorf("result = %+v, want the copy done and no delete", res)
		}
		if _, content, ok := statIn(t, env, id, "/srv/del/new.js"); !ok || content != "new" {
			t.Errorf("new.js = %q, %v; want it copied", content, ok)
		}
		if _, _, ok := statIn(t, env, id, "/srv/del/old.js"); !ok {
			t.Error("old.js is gone, yet nothing could delete it")
		}
	})

	t.Run("stopped container keeps the deletes", func(t *testing.T) {
		id := env.RunContainer(enginetest.ContainerOptions{Name: "del-stopped", Image: env.BusyboxImage(), Init: true})
		tree, paths := setup(t, id)
		stopContainer(t, env, id)
		res, err := applyPaths(env, id, tree, owner, paths...)
		if !errors.Is(err, filesync.ErrNeedsRunning) || res.Copied != 1 || res.Deleted != 0 {
			t.Fatalf("Apply on a stopped container = %+v, %v; want the copy done and ErrNeedsRunning", res, err)
		}
		startContainer(t, env, id)
		// The caller keeps the work and applies it again.
		if res, err := applyPaths(env, id, tree, owner, paths...); err != nil || res.Deleted != 2 {
			t.Fatalf("Apply once running = %+v, %v; want the 2 deletes", res, err)
		}
		requireConverged(t, env, id, tree, owner)
	})
}
