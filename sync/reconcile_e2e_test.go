package sync_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

func skipNodeModules(p string, isDir bool) bool {
	return isDir && filepath.Base(p) == "node_modules"
}

func TestReconcileEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	id := env.RunContainer(enginetest.ContainerOptions{Name: "reconcile", Image: env.BusyboxImage(), Init: true})

	root := filepath.Join(t.TempDir(), "api")
	write(t, filepath.Join(root, "src", "index.js"), "console.log('v1')\n", 0o644)
	write(t, filepath.Join(root, "src", "lib", "util.js"), "module.exports = 1\n", 0o600)
	write(t, filepath.Join(root, "src", "lib", "deep", "x.js"), "x", 0o644)
	write(t, filepath.Join(root, "READ ME.md"), "# héllo\n", 0o644)
	write(t, filepath.Join(root, "empty"), "", 0o644)
	write(t, filepath.Join(root, "bin", "run"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(root, "node_modules", "pkg", "index.js"), "host copy, ignored", 0o644)
	link(t, "../src/index.js", filepath.Join(root, "bin", "entry"))
	link(t, "../../elsewhere", filepath.Join(root, "bin", "outside"))
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/app", Skip: skipNodeModules}
	owner := filesync.Owner{UID: 1000, GID: 1000}

	t.Run("into a missing root", func(t *testing.T) {
		res, err := reconcile(env, id, tree, owner)
		if err != nil {
			t.Fatal(err)
		}
		// The root, 4 folders, 6 files, 1 link.
		if res.Copied != 12 || res.Deleted != 0 || res.Bytes == 0 {
			t.Errorf("result = %+v, want 12 entries copied", res)
		}
		if len(res.Skipped) != 1 || res.Skipped[0] != filepath.Join(root, "bin", "outside") {
			t.Errorf("skipped = %q, want the link leaving the tree", res.Skipped)
		}
		requireConverged(t, env, id, tree, owner)
		if hdr, _, _ := statIn(t, env, id, "/srv/app"); hdr.Uid != 1000 || hdr.Gid != 1000 {
			t.Errorf("new root owned by %d:%d, want the expected owner", hdr.Uid, hdr.Gid)
		}
	})

	t.Run("again changes nothing", func(t *testing.T) {
		res, err := reconcile(env, id, tree, owner)
		if err != nil || res.Copied != 0 || res.Deleted != 0 {
			t.Errorf("second Reconcile = %+v, %v; want nothing to do", res, err)
		}
	})

	t.Run("container drifted", func(t *testing.T) {
		sh(t, env, id, `set -e; cd /srv/app
			printf "console.log('XX')\n" > src/index.js      # same size, other content
			chmod 600 "READ ME.md"                             # mode only
			chown 0:0 src/lib/util.js                          # owner only
			chmod 4755 bin/run                                 # setuid: must be cleared
			rm -rf src/lib/deep && echo file > src/lib/deep    # folder became a file
			rm empty && mkdir -p empty/sub && echo y > empty/sub/y  # file became a folder
			rm bin/entry && ln -s wrong bin/entry              # other link target
			echo extra > extra.txt && mkdir -p extradir/a && echo 1 > extradir/a/b
			mkdir -p node_modules/pkg && echo kept > node_modules/pkg/index.js
			mkdir -p bin/outside && echo kept > bin/outside/x  # under a skipped link`)
		write(t, filepath.Join(root, "src", "new.js"), "new", 0o644)

		res, err := reconcile(env, id, tree, owner)
		if err != nil {
			t.Fatal(err)
		}
		// index.js, READ ME.md, util.js, run, deep and its x.js, empty,
		// entry, new.js; extra.txt and extradir.
		if res.Copied != 9 || res.Deleted != 2 {
			t.Errorf("result = %+v, want 9 copied and 2 deleted", res)
		}
		requireConverged(t, env, id, tree, owner)
		for _, p := range []string{"/srv/app/node_modules/pkg/index.js", "/srv/app/bin/outside/x"} {
			if _, content, ok := statIn(t, env, id, p); !ok || content != "kept\n" {
				t.Errorf("%s = %q, %v; want the container's own copy left alone", p, content, ok)
			}
		}
	})

	t.Run("stopped container", func(t *testing.T) {
		stopContainer(t, env, id)
		write(t, filepath.Join(root, "src", "index.js"), "console.log('while stopped')\n", 0o644)
		write(t, filepath.Join(root, "src", "lib", "util.js"), "module.exports = 2\n", 0o600)
		write(t, filepath.Join(root, "added.js"), "added", 0o644)
		if err := os.Remove(filepath.Join(root, "src", "new.js")); err != nil {
			t.Fatal(err)
		}

		res, err := reconcile(env, id, tree, owner)
		if !errors.Is(err, filesync.ErrNeedsRunning) {
			t.Fatalf("Reconcile of a stopped container = %+v, %v; want ErrNeedsRunning for the delete", res, err)
		}
		if res.Copied != 3 {
			t.Errorf("copied %d entries into the stopped container, want 3", res.Copied)
		}
		if _, content, _ := statIn(t, env, id, "/srv/app/src/index.js"); content != "console.log('while stopped')\n" {
			t.Errorf("index.js = %q, want the edit made while stopped", content)
		}
		if _, _, ok := statIn(t, env, id, "/srv/app/src/new.js"); !ok {
			t.Error("new.js is gone from a stopped container; deletes should wait")
		}

		startContainer(t, env, id)
		res, err = reconcile(env, id, tree, owner)
		if err != nil || res.Copied != 0 || res.Deleted != 1 {
			t.Errorf("Reconcile once running = %+v, %v; want only the kept delete", res, err)
		}
		requireConverged(t, env, id, tree, owner)
	})
}

func TestReconcileRefusals(t *testing.T) {
	env := enginetest.New(t)
	id := env.RunContainer(enginetest.ContainerOptions{Name: "refusals", Image: env.BusyboxImage(), Init: true})
	root := t.TempDir()
	write(t, filepath.Join(root, "a.js"), "a", 0o644)

	sh(t, env, id, "echo image file > /srv-file")
	res, err := reconcile(env, id, &filesync.Tree{HostRoot: root, ContainerRoot: "/srv-file"}, filesync.Owner{})
	if err == nil || !strings.Contains(err.Error(), "target /srv-file is a file") || res.Copied != 0 {
		t.Errorf("Reconcile into a file = %+v, %v; want a refusal naming the file", res, err)
	}
	if _, content, _ := statIn(t, env, id, "/srv-file"); content != "image file\n" {
		t.Errorf("/srv-file = %q, want it untouched", content)
	}

	if _, err := reconcile(env, id, &filesync.Tree{HostRoot: root, ContainerRoot: "/"}, filesync.Owner{}); err == nil {
		t.Error("Reconcile of the container's root folder succeeded, want a refusal")
	}
	if _, err := reconcile(env, id, &filesync.Tree{HostRoot: filepath.Join(root, "gone"), ContainerRoot: "/srv"}, filesync.Owner{}); err == nil {
		t.Error("Reconcile of a missing source folder succeeded, want an error")
	}
}

func TestReconcileSingleFileTree(t *testing.T) {
	env := enginetest.New(t)
	id := env.RunContainer(enginetest.ContainerOptions{Name: "single", Image: env.BusyboxImage(), Init: true})
	file := filepath.Join(t.TempDir(), "config.json")
	write(t, file, `{"a": 1}`, 0o640)
	tree := &filesync.Tree{HostRoot: file, ContainerRoot: "/etc/app/config.json"}
	owner := filesync.Owner{UID: 7, GID: 8}

	for i, content := range []string{`{"a": 1}`, `{"a": 2}`} {
		write(t, file, content, 0o640)
		res, err := reconcile(env, id, tree, owner)
		if err != nil || res.Copied != 1 {
			t.Errorf("Reconcile %d = %+v, %v; want the file copied", i, res, err)
		}
		hdr, got, ok := statIn(t, env, id, tree.ContainerRoot)
		if !ok || got != content || hdr.Mode&0o7777 != 0o640 || hdr.Uid != 7 || hdr.Gid != 8 {
			t.Errorf("container file = %q mode %o owner %d:%d, want %q 640 7:8", got, hdr.Mode, hdr.Uid, hdr.Gid, content)
		}
	}
	if res, err := reconcile(env, id, tree, owner); err != nil || res.Copied != 0 {
		t.Errorf("Reconcile of an equal file = %+v, %v; want nothing copied", res, err)
	}
}

// bigTree writes n small files spread over folders of 100.
func bigTree(t testing.TB, root string, n int) {
	t.Helper()
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
