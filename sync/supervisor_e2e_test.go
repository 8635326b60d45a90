package sync_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"

	"github.com/devdtool/devd/engine/enginetest"
	"github.com/devdtool/devd/supervisor"
	filesync "github.com/devdtool/devd/sync"
)

// devdBuild holds the devd binary built for the supervisor tests.
var devdBuild struct {
	once sync.Once
	bin  []byte
	err  error
}

// devdBinary builds devd from this repository, once per test binary.
func devdBinary(t testing.TB) []byte {
	t.Helper()
	devdBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "devd-sync-devd-")
		if err != nil {
			devdBuild.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "devd")
		cmd := exec.Command("go", "build", "-o", out, "../cmd/devd")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if output, err := cmd.CombinedOutput(); err != nil {
			devdBuild.err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(output)))
			return
		}
		devdBuild.bin, devdBuild.err = os.ReadFile(out)
	})
	if devdBuild.err != nil {
		t.Fatalf("building devd: %v", devdBuild.err)
	}
	return devdBuild.bin
}

// supervisedContainer runs devd's real supervisor in a busybox container
// without rm, serving the file API for root, and returns the container's
// id and the file access through the supervisor. The container gets mounts
// as well as its control folder.
func supervisedContainer(t *testing.T, env *enginetest.Env, root string, mounts ...mount.Mount) (string, *supervisor.Files) {
	t.Helper()
	image := env.BusyboxImageWith(enginetest.ImageOptions{
		Name:  "supervised",
		Shell: "rm /bin/rm",
		Files: map[string][]byte{supervisor.BinaryPath: devdBinary(t)},
	})
	control := t.TempDir()
	if err := os.Chmod(control, 0o1777); err != nil {
		t.Fatal(err)
	}
	id := env.RunContainer(enginetest.ContainerOptions{
		Name:   "supervised",
		Image:  image,
		Cmd:    []string{supervisor.BinaryPath, "supervise", "--sync-root", root, "--", "sleep", "3600"},
		Mounts: append(mounts, mount.Mount{Type: mount.TypeBind, Source: control, Target: supervisor.ControlDir}),
	})
	client := supervisor.NewSocketClient(filepath.Join(control, id[:12]+".sock"))
	var st supervisor.StatusResult
	deadline := time.Now().Add(e2eTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var err error
		st, err = client.Status(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor does not respond on its socket: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !st.Files || len(st.SyncRoots) != 1 || st.SyncRoots[0] != root {
		t.Fatalf("supervisor status = %+v, want the file API on for %s", st, root)
	}
	return id, &supervisor.Files{Engine: env.Engine, Client: client, Roots: st.SyncRoots}
}

// TestConvergenceThroughSupervisor runs the random operations of
// TestConvergence through the file API of devd's real supervisor, in a
// container that has no rm, and checks the result through the engine.
func TestConvergenceThroughSupervisor(t *testing.T) {
	env := enginetest.New(t)
	id, files := supervisedContainer(t, env, "/srv")

	seeds := convergenceSeeds()
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("replay with: go test ./sync/ -run '^TestConvergenceThroughSupervisor$/^%d$' -sync.seed %d -v", seed, seed)
				}
			}()
			croot := fmt.Sprintf("/srv/seed-%d", seed)
			runConvergenceWith(t, files, env.Engine, id, croot, filesync.Owner{UID: 1000, GID: 1000}, seed)
		})
	}
}
