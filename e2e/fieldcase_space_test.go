package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storeDir is where the store service keeps the synced folder, on a volume
// of 1 MiB.
const storeDir = "/data/files"

// storeService is a third service whose synced folder is on a small tmpfs
// volume of the local driver. The engine mounts such a volume itself, so
// the archive API writes into it, unlike a service-level tmpfs mount. The
// test fills the volume from inside the container with /data/filler, which
// is outside the synced folder.
func storeService(project string) string {
	return `  store:
    build:
      context: ./notification
      args:
        NODE_IMAGE: ${DEVD_NODE_IMAGE:-node:20-bookworm-slim}
    container_name: ` + project + `-store
    init: true
    command: ["node", "-e", "setInterval(() => {}, 1 << 30)"]
    volumes:
      - store:/data
    develop:
      watch:
        - action: sync
          path: ./store
          target: ` + storeDir + `
volumes:
  store:
    driver_opts:
      type: tmpfs
      device: tmpfs
      o: size=1m
`
}

const (
	msgNoSpace    = "container out of space; the changes are kept and retried until there is room"
	msgRetry      = "changes not applied yet; retrying"
	msgSpaceAgain = "container has space again; kept changes applied"
)

func TestOutOfDiskKeepsChangesAndConverges(t *testing.T) {
	s := startStackSetup(t, stackSetup{services: storeService, prepare: func(dir string) {
		writeFile(t, filepath.Join(dir, "store", "small.txt"), "small\n")
	}})
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "store")
	id := s.containerID("store")
	waitConverged(t, root, id, storeDir)
	store := map[string]string{"service": "store"}

	// waitRetries waits until the failed work has been tried n more times.
	waitRetries := func(n int) {
		t.Helper()
		before := d.countLogs(msgRetry, store)
		waitFor(t, changeTimeout, fmt.Sprintf("%d more tries", n), func() bool { return d.countLogs(msgRetry, store) >= before+n })
	}
	// recover waits until the container's folder equals the host's and
	// returns how long that took.
	recover := func() time.Duration {
		t.Helper()
		start := time.Now()
		waitConverged(t, root, id, storeDir)
		return time.Since(start)
	}

	t.Run("space freed in the container", func(t *testing.T) {
		if out, err := s.exec("store", "sh", "-c", "head -c 800000 /dev/zero > /data/filler"); err != nil {
			t.Fatalf("filling the volume: %v\n%s", err, out)
		}
		writeFile(t, filepath.Join(root, "big.bin"), strings.Repeat("b", 400_000))
		writeFile(t, filepath.Join(root, "small.txt"), "small, edited\n")

		l := d.waitLog(msgNoSpace, store)
		if l["target"] != storeDir {
			t.Errorf("out-of-space target = %v, want %s", l["target"], storeDir)
		}
		if !strings.Contains(fmt.Sprint(l["container"]), "store") {
			t.Errorf("out-of-space container = %v, want the store container", l["container"])
		}
		if !strings.Contains(fmt.Sprint(l["fix"]), "free space in the container") {
			t.Errorf("out-of-space fix = %v, want the advice to free space", l["fix"])
		}
		if !strings.Contains(fmt.Sprint(l["error"]), "no space left on device") {
			t.Errorf("out-of-space error = %v, want the engine's error", l["error"])
		}
		// A change made while the volume is full is kept with the others.
		writeFile(t, filepath.Join(root, "later.txt"), "saved while full\n")
		waitRetries(3)
		if n := d.countLogs(msgNoSpace, store); n != 1 {
			t.Errorf("the full volume was reported %d times over several tries, want once", n)
		}

		if out, err := s.exec("store", "rm", "/data/filler"); err != nil {
			t.Fatalf("freeing space: %v\n%s", err, out)
		}
		t.Logf("converged %s after space was freed in the container", recover().Round(time.Millisecond))
		d.waitLog(msgSpaceAgain, store)
	})

	t.Run("host file shrinks", func(t *testing.T) {
		writeFile(t, filepath.Join(root, "big.bin"), strings.Repeat("c", 1_500_000))
		waitFor(t, changeTimeout, "a second report", func() bool { return d.countLogs(msgNoSpace, store) == 2 })
		waitRetries(2)
		if n := d.countLogs(msgNoSpace, store); n != 2 {
			t.Errorf("%d reports after two episodes, want 2", n)
		}

		writeFile(t, filepath.Join(root, "big.bin"), strings.Repeat("d", 100_000))
		t.Logf("converged %s after the host file shrank", recover().Round(time.Millisecond))
		if err := os.Remove(filepath.Join(root, "later.txt")); err != nil {
			t.Fatal(err)
		}
		waitConverged(t, root, id, storeDir)
	})

	for _, l := range d.levelLogs("error") {
		if l["@message"] != msgNoSpace {
			t.Errorf("devd logged another error: %v", l)
		}
	}
}
