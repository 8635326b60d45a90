package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

// userImage is a busybox image whose /app/src belongs to root, as images
// built with COPY before USER have it, with a node user (1000) and a staff
// group (50).
func userImage(t *testing.T, env *enginetest.Env) string {
	t.Helper()
	return env.BusyboxImageWith(enginetest.ImageOptions{
		Name: "user",
		Files: map[string][]byte{
			"/etc/passwd": []byte("root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n"),
			"/etc/group":  []byte("root:x:0:\nstaff:x:50:node\nnode:x:1000:\n"),
		},
		Shell: "mkdir -p /app/src/lib && echo one > /app/src/a.js && echo three > /app/src/c.js && chmod 755 /app/src && chmod 644 /etc/passwd /etc/group",
	})
}

func TestOwnerEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	img := userImage(t, env)
	ctx := context.Background()

	id := env.RunContainer(enginetest.ContainerOptions{Name: "user", Image: img, Init: true, User: "node"})
	ctr, err := env.Engine.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]filesync.Owner{
		ctr.User:     {UID: 1000, GID: 1000},
		"":           {},
		"node:staff": {UID: 1000, GID: 50},
		"4242":       {UID: 4242, GID: 0},
		"4242:staff": {UID: 4242, GID: 50},
	} {
		if got, err := filesync.ResolveOwner(ctx, env.Engine, id, user); err != nil || got != want {
			t.Errorf("ResolveOwner(%q) = %+v, %v; want %+v", user, got, err, want)
		}
	}
	if _, err := filesync.ResolveOwner(ctx, env.Engine, id, "nobody"); err == nil {
		t.Error("ResolveOwner of an unknown name succeeded, want an error")
	}
	owner, err := filesync.ResolveOwner(ctx, env.Engine, id, ctr.User)
	if err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	// The host root's mode differs from the image's: it must not matter.
	if err := os.Chmod(root, 0o700); err != nil {
		t.Fatal(err)
	}
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/app/src"}
	write(t, filepath.Join(root, "a.js"), "one, edited\n", 0o644)
	write(t, filepath.Join(root, "b.js"), "new\n", 0o644)
	write(t, filepath.Join(root, "lib", "x.js"), "x\n", 0o644)
	if err := os.Chmod(filepath.Join(root, "lib"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "posts", "2024", "hello.md"), "# hello\n", 0o644)
	if err := os.Chmod(filepath.Join(root, "posts"), 0o750); err != nil {
		t.Fatal(err)
	}

	t.Run("edit, create and delete as a non-root user", func(t *testing.T) {
		_, err := applyPaths(env, id, tree, owner,
			filepath.Join(root, "a.js"), filepath.Join(root, "b.js"), filepath.Join(root, "lib", "x.js"),
			filepath.Join(root, "posts", "2024", "hello.md"), filepath.Join(root, "c.js"))
		if err != nil {
			t.Fatal(err)
		}
		checkOwned(t, env, id, map[string]ownedAs{
			"/app/src":                     {0, 0, 0o755}, // existing: left as the image has it
			"/app/src/lib":                 {0, 0, 0o755},
			"/app/src/lib/x.js":            {1000, 1000, 0o644},
			"/app/src/a.js":                {1000, 1000, 0o644},
			"/app/src/b.js":                {1000, 1000, 0o644},
			"/app/src/posts":               {1000, 1000, 0o750}, // new parents get the owner and host mode
			"/app/src/posts/2024":          {1000, 1000, 0o755},
			"/app/src/posts/2024/hello.md": {1000, 1000, 0o644},
		})
		if _, _, ok := statIn(t, env, id, "/app/src/c.js"); ok {
			t.Error("c.js is still in the container")
		}
		// The container's user can work with what devd wrote.
		res, err := env.Engine.Exec(ctx, id, []string{"sh", "-c", "echo more >> /app/src/b.js && touch /app/src/posts/2024/mine"}, engine.ExecOptions{})
		if err != nil || res.ExitCode != 0 {
			t.Errorf("the container's user cannot write synced files: %v, exit %d: %s", err, res.ExitCode, res.Output)
		}
	})

	t.Run("new folder synced before devd starts", func(t *testing.T) {
		fresh := env.RunContainer(enginetest.ContainerOptions{Name: "user-fresh", Image: img, Init: true, User: "node"})
		if _, err := reconcile(env, fresh, tree, owner); err != nil {
			t.Fatal(err)
		}
		checkOwned(t, env, fresh, map[string]ownedAs{
			"/app/src":                     {0, 0, 0o755},
			"/app/src/lib":                 {1000, 1000, 0o700}, // Reconcile makes every folder below the root match
			"/app/src/posts":               {1000, 1000, 0o750},
			"/app/src/posts/2024/hello.md": {1000, 1000, 0o644},
		})
		requireConverged(t, env, fresh, tree, owner)
	})
}

type ownedAs struct {
	uid, gid int
	perm     int64
}

func checkOwned(t *testing.T, env *enginetest.Env, id string, want map[string]ownedAs) {
	t.Helper()
	for p, w := range want {
		hdr, _, ok := statIn(t, env, id, p)
		if !ok {
			t.Errorf("%s: missing in the container", p)
			continue
		}
		if got := (ownedAs{hdr.Uid, hdr.Gid, hdr.Mode & 0o7777}); got != w {
			t.Errorf("%s: owner %d:%d mode %o, want %d:%d mode %o", p, got.uid, got.gid, got.perm, w.uid, w.gid, w.perm)
		}
	}
}
