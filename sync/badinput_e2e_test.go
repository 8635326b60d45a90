package sync_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

func TestBadTargetsEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	img := env.BusyboxImage()
	owner := filesync.Owner{UID: 1000, GID: 1000}
	ctx := context.Background()

	t.Run("target is a file in the container", func(t *testing.T) {
		id := env.RunContainer(enginetest.ContainerOptions{Name: "file-target", Image: img, Init: true})
		sh(t, env, id, "mkdir -p /srv && echo image > /srv/conf")
		bad, good := t.TempDir(), t.TempDir()
		write(t, filepath.Join(bad, "a.js"), "a", 0o644)
		write(t, filepath.Join(good, "b.js"), "b", 0o644)
		badTree := &filesync.Tree{HostRoot: bad, ContainerRoot: "/srv/conf"}
		goodTree := &filesync.Tree{HostRoot: good, ContainerRoot: "/srv/good"}

		changes := append(changesOf(badTree, filepath.Join(bad, "a.js")), changesOf(goodTree, filepath.Join(good, "b.js"))...)
		res, err := filesync.Apply(ctx, env.Engine, id, changes, owner, nil)
		if err == nil || !strings.Contains(err.Error(), "target /srv/conf is a file") || !strings.Contains(err.Error(), bad) {
			t.Errorf("Apply error = %v, want one naming the folder and saying its target is a file", err)
		}
		if res.Copied != 2 {
			t.Errorf("copied %d entries, want the other tree's root and file", res.Copied)
		}
		if _, content, _ := statIn(t, env, id, "/srv/good/b.js"); content != "b" {
			t.Errorf("b.js = %q, want the other tree synced", content)
		}
		if _, content, _ := statIn(t, env, id, "/srv/conf"); content != "image\n" {
			t.Errorf("/srv/conf = %q, want it untouched", content)
		}
	})

	t.Run("read-only root file system", func(t *testing.T) {
		id := env.RunContainer(enginetest.ContainerOptions{Name: "read-only", Image: img, Init: true, ReadOnly: true})
		root := t.TempDir()
		write(t, filepath.Join(root, "a.js"), "a", 0o644)
		tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/app"}

		ctr, err := env.Engine.InspectContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := filesync.CheckTarget(ctr, tree); !errors.Is(err, filesync.ErrTargetUnreachable) || !strings.Contains(err.Error(), "read_only: true") {
			t.Errorf("CheckTarget = %v, want the read_only key named", err)
		}
		_, err = applyPaths(env, id, tree, owner, filepath.Join(root, "a.js"))
		if err == nil || !strings.Contains(err.Error(), "read_only: true") {
			t.Errorf("Apply error = %v, want the read_only key named", err)
		}
	})

	t.Run("read-only tmpfs under the target", func(t *testing.T) {
		id := env.RunContainer(enginetest.ContainerOptions{Name: "tmpfs", Image: img, Init: true,
			Tmpfs: map[string]string{"/srv/app/cache": "ro"}})
		root := t.TempDir()
		write(t, filepath.Join(root, "a.js"), "a", 0o644)
		write(t, filepath.Join(root, "cache", "c.txt"), "c", 0o644)
		tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/app"}

		ctr, err := env.Engine.InspectContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		err = filesync.CheckTarget(ctr, tree)
		if !errors.Is(err, filesync.ErrTargetUnreachable) || !strings.Contains(err.Error(), "/srv/app/cache") || !strings.Contains(err.Error(), "tmpfs") {
			t.Errorf("CheckTarget = %v, want the tmpfs folder named", err)
		}
		if _, err := applyPaths(env, id, tree, owner, root); err != nil {
			t.Fatal(err)
		}
		// The rest reaches the container; the tmpfs hides what the engine
		// wrote beneath it, which is why CheckTarget reports it.
		out := sh(t, env, id, "cat /srv/app/a.js; ls -A /srv/app/cache")
		if out != "a" {
			t.Errorf("container sees %q, want a.js and an empty tmpfs", out)
		}
	})
}

// unprivilegedEnv marks the child process of runUnprivileged.
const unprivilegedEnv = "DEVD_SYNC_TEST_UNPRIVILEGED"

// runUnprivileged runs the current test again in a child process as the
// nobody user in the docker group when this process is root, since root
// reads any folder whatever its mode. It returns true when the caller is the
// process that should run the test's body.
func runUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(unprivilegedEnv) == "1" {
		return true
	}
	docker, err := user.LookupGroup("docker")
	if err != nil {
		t.Skipf("running as root without a docker group to run unprivileged with: %v", err)
	}
	gid, _ := strconv.Atoi(docker.Gid)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "devd-sync-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sync.test")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}

	const nobody = 65534
	cmd := exec.Command(bin, "-test.run", "^"+t.Name()+"$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), unprivilegedEnv+"=1", "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{uint32(gid)}}}
	out, err := cmd.CombinedOutput()
	t.Logf("unprivileged run as %d with group docker:\n%s", nobody, out)
	if err != nil {
		t.Fatalf("unprivileged run failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("unprivileged run did not pass %s", t.Name())
	}
	return false
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestUnreadableHostFolderEndToEnd(t *testing.T) {
	if !runUnprivileged(t) {
		return
	}
	env := enginetest.New(t)
	id := env.RunContainer(enginetest.ContainerOptions{Name: "unreadable", Image: env.BusyboxImage(), Init: true})
	owner := filesync.Owner{UID: 1000, GID: 1000}

	root := t.TempDir()
	secret := filepath.Join(root, "secret")
	write(t, filepath.Join(root, "ok.js"), "v1", 0o644)
	write(t, filepath.Join(root, "gone.js"), "gone", 0o644)
	write(t, filepath.Join(secret, "a.js"), "a", 0o644)
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/srv/app"}
	if _, err := applyPaths(env, id, tree, owner, root); err != nil {
		t.Fatal(err)
	}
	sh(t, env, id, "echo container only > /srv/app/secret/c.js")

	if err := os.Chmod(secret, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(secret, 0o755) })
	write(t, filepath.Join(root, "ok.js"), "v2", 0o644)

	check := func(t *testing.T, what string, res filesync.Result, err error, wantOK string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s error = %v, want the unreadable folder named", what, err)
		}
		if !slices.Contains(res.Skipped, secret) {
			t.Errorf("%s skipped %q, want the unreadable folder", what, res.Skipped)
		}
		if _, content, _ := statIn(t, env, id, "/srv/app/ok.js"); content != wantOK {
			t.Errorf("after %s, ok.js = %q, want the rest synced", what, content)
		}
		_, content, ok := statIn(t, env, id, "/srv/app/secret/c.js")
		if !ok || content != "container only\n" {
			t.Errorf("after %s, the container's secret/c.js = %q, %v; want it left alone", what, content, ok)
		}
		if hdr, _, _ := statIn(t, env, id, "/srv/app/secret"); hdr.Mode&0o777 != 0o755 {
			t.Errorf("after %s, secret has mode %o, want it left alone", what, hdr.Mode&0o777)
		}
	}

	res, err := applyPaths(env, id, tree, owner, root)
	check(t, "Apply", res, err, "v2")

	write(t, filepath.Join(root, "ok.js"), "v3", 0o644)
	if err := os.Remove(filepath.Join(root, "gone.js")); err != nil {
		t.Fatal(err)
	}
	res, err = reconcile(env, id, tree, owner)
	check(t, "Reconcile", res, err, "v3")
	if res.Deleted != 1 {
		t.Errorf("Reconcile deleted %d paths, want gone.js", res.Deleted)
	}
}
