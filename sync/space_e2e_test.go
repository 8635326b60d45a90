package sync_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
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
