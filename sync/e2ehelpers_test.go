package sync_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
	"github.com/docker/docker/api/types/container"
)

// changesOf turns host paths into changes of one tree.
func changesOf(tree *filesync.Tree, paths ...string) []filesync.Change {
	changes := make([]filesync.Change, len(paths))
	for i, p := range paths {
		changes[i] = filesync.Change{Tree: tree, HostPath: p}
	}
	return changes
}

// applyPaths applies host paths of one tree and returns the result and
// error, bounded by the end-to-end timeout.
func applyPaths(env *enginetest.Env, id string, tree *filesync.Tree, owner filesync.Owner, paths ...string) (filesync.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	return filesync.Apply(ctx, env.Engine, id, changesOf(tree, paths...), owner, nil)
}

// reconcile runs Reconcile bounded by the end-to-end timeout.
func reconcile(env *enginetest.Env, id string, tree *filesync.Tree, owner filesync.Owner) (filesync.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	return filesync.Reconcile(ctx, env.Engine, id, tree, owner, nil)
}

// sh runs a shell script in the container as root and fails the test
// unless it exits with 0. It returns the output.
func sh(t testing.TB, env *enginetest.Env, id, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	res, err := env.Engine.Exec(ctx, id, []string{"sh", "-c", script}, engine.ExecOptions{User: "0"})
	if err != nil {
		t.Fatalf("running %q: %v", script, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("running %q: exit %d: %s", script, res.ExitCode, res.Output)
	}
	return string(res.Output)
}

// statIn describes one container path through the archive API, which also
// works on stopped containers. A missing path gives ok false.
func statIn(t testing.TB, env *enginetest.Env, id, p string) (hdr *tar.Header, content string, ok bool) {
	t.Helper()
	rc, err := env.Engine.CopyFromContainer(context.Background(), id, p)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err = tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return hdr, string(data), true
}

// stopContainer stops a test container and waits for it to exit.
func stopContainer(t testing.TB, env *enginetest.Env, id string) {
	t.Helper()
	timeout := 0
	if err := env.API.ContainerStop(context.Background(), id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
}

func startContainer(t testing.TB, env *enginetest.Env, id string) {
	t.Helper()
	if err := env.Engine.StartContainer(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

var supervisorBuild struct {
	once stdsync.Once
	bin  []byte
	err  error
}

// supervisorBinary builds the stand-in for devd's in-container supervisor
// (testdata/supervisor), once per test binary.
func supervisorBinary(t testing.TB) []byte {
	t.Helper()
	supervisorBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "devd-sync-supervisor-")
		if err != nil {
			supervisorBuild.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "devd")
		cmd := exec.Command("go", "build", "-o", out, "./testdata/supervisor")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if output, err := cmd.CombinedOutput(); err != nil {
			supervisorBuild.err = errors.New(strings.TrimSpace(string(output)))
			return
		}
		supervisorBuild.bin, supervisorBuild.err = os.ReadFile(out)
	})
	if supervisorBuild.err != nil {
		t.Fatalf("building the supervisor stand-in: %v", supervisorBuild.err)
	}
	return supervisorBuild.bin
}

// noRmImage builds a busybox image without rm, with devd's supervisor
// stand-in at its place when withSupervisor is set.
func noRmImage(t testing.TB, env *enginetest.Env, withSupervisor bool) string {
	t.Helper()
	opts := enginetest.ImageOptions{Name: "norm", Shell: "rm /bin/rm"}
	if withSupervisor {
		opts.Name = "norm-supervisor"
		opts.Files = map[string][]byte{filesync.SupervisorPath: supervisorBinary(t)}
	}
	return env.BusyboxImageWith(opts)
}
