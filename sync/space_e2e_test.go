package sync_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
	"github.com/docker/docker/api/types/mount"
)

// TestFullVolumeEndToEnd fills a 64 KiB volume and checks that the
// engine's error becomes a NoSpaceError naming the tree's target. The same
// copy must succeed once there is room: after space is freed in the
// container, and after the host file shrinks.
func TestFullVolumeEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	img := env.BusyboxImage()
	id := env.RunContainer(enginetest.ContainerOptions{Name: "small-volume", Image: img, Init: true,
		Mounts: []mount.Mount{enginetest.SmallVolume("/data", "64k")}})
	owner := filesync.Owner{UID: 1000, GID: 1000}
	root := t.TempDir()
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/data/files"}
	big := filepath.Join(root, "big.bin")
	small := filepath.Join(root, "small.txt")
	write(t, small, "small", 0o644)

	wantFull := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, engine.ErrNoSpace) {
			t.Fatalf("Apply error = %v, want ErrNoSpace", err)
		}
		if got := filesync.NoSpaceTargets(err); !reflect.DeepEqual(got, []string{"/data/files"}) {
			t.Errorf("NoSpaceTargets = %q, want [/data/files]; error %v", got, err)
		}
	}

	t.Run("space freed in the container", func(t *testing.T) {
		sh(t, env, id, "head -c 40000 /dev/zero > /data/filler")
		write(t, big, string(bytes.Repeat([]byte("b"), 40000)), 0o644)
		_, err := applyPaths(env, id, tree, owner, small, big)
		wantFull(t, err)

		sh(t, env, id, "rm /data/filler")
		if _, err := applyPaths(env, id, tree, owner, small, big); err != nil {
			t.Fatalf("Apply after freeing space: %v", err)
		}
		if _, content, _ := statIn(t, env, id, "/data/files/big.bin"); len(content) != 40000 {
			t.Errorf("big.bin has %d bytes in the container, want 40000", len(content))
		}
	})

	t.Run("host file shrinks", func(t *testing.T) {
		write(t, big, string(bytes.Repeat([]byte("c"), 100000)), 0o644)
		_, err := applyPaths(env, id, tree, owner, big)
		wantFull(t, err)

		write(t, big, "shrunk", 0o644)
		if _, err := applyPaths(env, id, tree, owner, big); err != nil {
			t.Fatalf("Apply after the host file shrank: %v", err)
		}
		if _, content, _ := statIn(t, env, id, "/data/files/big.bin"); content != "shrunk" {
			t.Errorf("big.bin = %q in the container, want shrunk", content)
		}
	})
}

// TestSupervisorFullVolumeKeepsFile checks that devd's supervisor, which
// writes an existing file over in place, keeps the old content whole when
// the new content does not fit. A service that reads the file before space
// is freed then gets the old code, not the start of the new one.
func TestSupervisorFullVolumeKeepsFile(t *testing.T) {
	env := enginetest.New(t)
	id, files := supervisedContainer(t, env, "/srv", enginetest.SmallVolume("/srv", "64k"))
	tree := &filesync.Tree{HostRoot: t.TempDir(), ContainerRoot: "/srv/files"}
	name := filepath.Join(tree.HostRoot, "server.js")
	old := strings.Repeat("a", 10_000)
	apply := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		_, err := filesync.Apply(ctx, files, id, changesOf(tree, name), filesync.Owner{}, nil)
		return err
	}
	write(t, name, old, 0o644)
	if err := apply(); err != nil {
		t.Fatal(err)
	}

	// 20 KiB stay free. The new content needs 40 KiB, 28 KiB more than the
	// old content's 12 KiB, so it does not fit.
	sh(t, env, id, "head -c 32768 /dev/zero > /srv/filler")
	write(t, name, strings.Repeat("b", 40_000), 0o644)
	if err := apply(); !errors.Is(err, engine.ErrNoSpace) {
		t.Fatalf("Apply on a full volume = %v, want ErrNoSpace", err)
	}
	if got := sh(t, env, id, "cat /srv/files/server.js"); got != old {
		t.Errorf("server.js contains %d bytes starting %.8q after a failed copy, want its old %d bytes", len(got), got, len(old))
	}

	sh(t, env, id, "rm -f /srv/filler || busybox rm /srv/filler")
	if err := apply(); err != nil {
		t.Fatalf("Apply after freeing space: %v", err)
	}
	if got := sh(t, env, id, "wc -c < /srv/files/server.js"); strings.TrimSpace(got) != "40000" {
		t.Errorf("server.js has %s bytes after space was freed, want 40000", strings.TrimSpace(got))
	}
}

func TestSupervisorFullVolumeNoPartFile(t *testing.T) {
	env := enginetest.New(t)
	id, files := supervisedContainer(t, env, "/srv", enginetest.SmallVolume("/srv", "64k"))
	tree := &filesync.Tree{HostRoot: t.TempDir(), ContainerRoot: "/srv/files"}
	name := filepath.Join(tree.HostRoot, "new.js")
	apply := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		_, err := filesync.Apply(ctx, files, id, changesOf(tree, name), filesync.Owner{}, nil)
		return err
	}

	// About 16 KiB stay free, and the new file needs 40 KiB.
	sh(t, env, id, "mkdir -p /srv/files && head -c 49152 /dev/zero > /srv/filler")
	write(t, name, strings.Repeat("c", 40_000), 0o644)
	if err := apply(); !errors.Is(err, engine.ErrNoSpace) {
		t.Fatalf("Apply on a full volume = %v, want ErrNoSpace", err)
	}
	if got := sh(t, env, id, "ls /srv/files"); strings.TrimSpace(got) != "" {
		t.Errorf("after a failed copy the folder contains %q, want nothing: a part of new.js stayed", got)
	}

	sh(t, env, id, "rm -f /srv/filler || busybox rm /srv/filler")
	if err := apply(); err != nil {
		t.Fatalf("Apply after freeing space: %v", err)
	}
	if got := sh(t, env, id, "wc -c < /srv/files/new.js"); strings.TrimSpace(got) != "40000" {
		t.Errorf("new.js has %s bytes after space was freed, want 40000", strings.TrimSpace(got))
	}
}
