package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

// linkTimeout bounds a sync of a tree with link loops: it must not hang.
const linkTimeout = 10 * time.Second

func TestSymlinkPolicyEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	id := env.RunContainer(enginetest.ContainerOptions{Name: "links", Image: env.BusyboxImage(), Init: true})
	owner := filesync.Owner{UID: 1000, GID: 1000}

	base := t.TempDir()
	root := filepath.Join(base, "src")
	write(t, filepath.Join(base, "outside", "secret.txt"), "outside the tree", 0o644)
	write(t, filepath.Join(root, "ok.js"), "ok", 0o644)
	write(t, filepath.Join(root, "README"), "readme", 0o644)
	link(t, ".", filepath.Join(root, "loop"))
	link(t, "../loop/loop/ok.js", filepath.Join(root, "sub", "through-loop"))
	link(t, "/etc/hosts", filepath.Join(root, "abs"))
	link(t, "../outside", filepath.Join(root, "out"))
	link(t, "README", filepath.Join(root, "in"))
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/links"}

	t.Run("one policy for Apply and Reconcile", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), linkTimeout)
		defer cancel()
		res, err := filesync.Apply(ctx, env.Engine, id, changesOf(tree, root), owner, nil)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(res.Skipped)
		if want := []string{filepath.Join(root, "abs"), filepath.Join(root, "out")}; !slices.Equal(res.Skipped, want) {
			t.Errorf("Apply skipped %q, want %q", res.Skipped, want)
		}
		requireConverged(t, env, id, tree, owner)
		for _, p := range []string{"/srv/links/abs", "/srv/links/out", "/srv/secret.txt", "/srv/outside"} {
			if _, _, ok := statIn(t, env, id, p); ok {
				t.Errorf("%s exists in the container", p)
			}
		}

		res, err = filesync.Reconcile(ctx, env.Engine, id, tree, owner, nil)
		if err != nil || res.Copied != 0 || res.Deleted != 0 {
			t.Errorf("Reconcile after Apply = %+v, %v; want nothing to do", res, err)
		}
		if len(res.Skipped) != 2 {
			t.Errorf("Reconcile skipped %q, want the same two links", res.Skipped)
		}
	})

	t.Run("the container's own links below the target are replaced, not followed", func(t *testing.T) {
		sh(t, env, id, "mkdir -p /etc/deep && ln -s /etc /srv/links/data && ln -s /etc /srv/links/data2")
		write(t, filepath.Join(root, "data", "new", "f.txt"), "f", 0o644)
		write(t, filepath.Join(root, "data2", "deep", "g.txt"), "g", 0o644)
		// Only the files are reported, as if their folders were missed.
		if _, err := applyPaths(env, id, tree, owner,
			filepath.Join(root, "data", "new", "f.txt"), filepath.Join(root, "data2", "deep", "g.txt")); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/etc/new", "/etc/deep/g.txt"} {
			if _, _, ok := statIn(t, env, id, p); ok {
				t.Errorf("%s was written through the container's link", p)
			}
		}
		requireConverged(t, env, id, tree, owner)
	})

	t.Run("a link in the container where the host has a file", func(t *testing.T) {
		sh(t, env, id, "rm /srv/links/ok.js && ln -s /etc/passwd /srv/links/ok.js")
		write(t, filepath.Join(root, "ok.js"), "ok, edited", 0o644)
		if _, err := applyPaths(env, id, tree, owner, filepath.Join(root, "ok.js")); err != nil {
			t.Fatal(err)
		}
		if _, content, _ := statIn(t, env, id, "/etc/passwd"); content == "ok, edited" {
			t.Error("the container's /etc/passwd was written through the link")
		}
		requireConverged(t, env, id, tree, owner)
	})

	t.Run("a host link replaced by a file and back", func(t *testing.T) {
		if err := os.Remove(filepath.Join(root, "in")); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, "in"), "now a file", 0o644)
		if _, err := applyPaths(env, id, tree, owner, filepath.Join(root, "in")); err != nil {
			t.Fatal(err)
		}
		requireConverged(t, env, id, tree, owner)
		if err := os.Remove(filepath.Join(root, "in")); err != nil {
			t.Fatal(err)
		}
		link(t, "ok.js", filepath.Join(root, "in"))
		if _, err := applyPaths(env, id, tree, owner, filepath.Join(root, "in")); err != nil {
			t.Fatal(err)
		}
		requireConverged(t, env, id, tree, owner)
	})
}
