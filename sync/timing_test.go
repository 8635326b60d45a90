package sync_test

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

var timingFlag = flag.Bool("sync.timing", false, "run TestTimingReconcileAgainstDockerCp")

const (
	timingFiles = 10_000
	timingRuns  = 5
)

// TestTimingReconcileAgainstDockerCp times Reconcile of 10,000 small files
// into a container that lacks them against `docker cp` of the same folder.
// Both run from the host in the same test, and the medians and their ratio
// are logged. Then it times Reconcile of the equal tree, and Reconcile
// through devd's supervisor into another container. It runs with
// -sync.timing:
//
//	go test ./sync/ -run TestTimingReconcileAgainstDockerCp -sync.timing -v
func TestTimingReconcileAgainstDockerCp(t *testing.T) {
	if !*timingFlag {
		t.Skip("timing runs with -sync.timing")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skipf("the docker CLI is needed to compare with: %v", err)
	}
	env := enginetest.New(t)
	id := env.RunContainer(enginetest.ContainerOptions{Name: "timing", Image: env.BusyboxImage(), Init: true})
	sh(t, env, id, "mkdir -p /bench")
	root := filepath.Join(t.TempDir(), "tree")
	bigTree(t, root, timingFiles)
	owner := filesync.Owner{UID: 1000, GID: 1000}

	var devd, cp []time.Duration
	for i := range timingRuns {
		tree := &filesync.Tree{HostRoot: root, ContainerRoot: fmt.Sprintf("/bench/devd-%d", i)}
		start := time.Now()
		res, err := filesync.Reconcile(context.Background(), env.Engine, id, tree, owner, nil)
		devd = append(devd, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		if want := timingFiles + timingFiles/100 + 1; res.Copied != want {
			t.Fatalf("Reconcile copied %d entries, want %d", res.Copied, want)
		}

		start = time.Now()
		out, err := exec.Command(docker, "cp", root, fmt.Sprintf("%s:/bench/cp-%d", id, i)).CombinedOutput()
		cp = append(cp, time.Since(start))
		if err != nil {
			t.Fatalf("docker cp: %v: %s", err, out)
		}
	}
	if got := sh(t, env, id, "find /bench/devd-0 -type f | wc -l; find /bench/cp-0 -type f | wc -l"); got != fmt.Sprintf("%d\n%d\n", timingFiles, timingFiles) {
		t.Fatalf("file counts in the container: %q", got)
	}

	var again []time.Duration
	for range timingRuns {
		tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/bench/devd-0"}
		start := time.Now()
		res, err := filesync.Reconcile(context.Background(), env.Engine, id, tree, owner, nil)
		again = append(again, time.Since(start))
		if err != nil || res.Copied != 0 || res.Deleted != 0 {
			t.Fatalf("Reconcile of an equal tree = %+v, %v; want nothing to do", res, err)
		}
	}

	// The same copy through devd's supervisor, as under devd up.
	sid, files := supervisedContainer(t, env, "/bench")
	var supervised []time.Duration
	for i := range timingRuns {
		tree := &filesync.Tree{HostRoot: root, ContainerRoot: fmt.Sprintf("/bench/devd-%d", i)}
		start := time.Now()
		res, err := filesync.Reconcile(context.Background(), files, sid, tree, owner, nil)
		supervised = append(supervised, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		if want := timingFiles + timingFiles/100 + 1; res.Copied != want {
			t.Fatalf("Reconcile through the supervisor copied %d entries, want %d", res.Copied, want)
		}
	}

	median := func(d []time.Duration) time.Duration {
		s := slices.Sorted(slices.Values(d))
		return s[len(s)/2]
	}
	t.Logf("%d small files in %d folders, %d runs each", timingFiles, timingFiles/100, timingRuns)
	t.Logf("Reconcile:  %v (runs %v)", median(devd).Round(time.Millisecond), devd)
	t.Logf("docker cp:  %v (runs %v)", median(cp).Round(time.Millisecond), cp)
	t.Logf("ratio Reconcile / docker cp: %.2f", float64(median(devd))/float64(median(cp)))
	t.Logf("Reconcile through the supervisor: %v (runs %v)", median(supervised).Round(time.Millisecond), supervised)
	t.Logf("ratio Reconcile through the supervisor / docker cp: %.2f", float64(median(supervised))/float64(median(cp)))
	t.Logf("Reconcile of the equal tree (reads and hashes both sides): %v (runs %v)", median(again).Round(time.Millisecond), again)
}
