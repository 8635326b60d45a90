package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// containerMode returns a path's full mode bits in the container, as the
// archive API reports them (setuid 04000, setgid 02000 included).
func containerMode(t *testing.T, id, rel string) int64 {
	t.Helper()
	h, ok := containerHeaders(t, id, appDir)[rel]
	if !ok {
		t.Fatalf("%s is missing in the container", rel)
	}
	return h.Mode & 0o7777
}

func TestExecuteBitsFollowHost(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	chmod := func(rel string, mode fs.FileMode) {
		t.Helper()
		if err := os.Chmod(filepath.Join(root, rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	// modeOnly changes a file's mode and checks that the container follows
	// with at most one restart.
	modeOnly := func(rel string, hostMode fs.FileMode, want int64) {
		t.Helper()
		settle(t, d, "notification")
		before := d.restartCount("notification")
		chmod(rel, hostMode)
		waitFor(t, changeTimeout, rel+" to get mode "+fs.FileMode(want).String()+" in the container", func() bool {
			return containerMode(t, id, rel) == want
		})
		waitConverged(t, root, id, appDir, "node_modules")
		settle(t, d, "notification")
		if n := d.restartCount("notification") - before; n > 1 {
			t.Errorf("chmod %o %s restarted the service %d times, want at most 1", hostMode, rel, n)
		}
	}

	t.Run("new executable file", func(t *testing.T) {
		writeFile(t, filepath.Join(root, "run.sh"), "#!/bin/sh\necho run\n")
		chmod("run.sh", 0o755)
		waitConverged(t, root, id, appDir, "node_modules")
		if got := containerMode(t, id, "run.sh"); got != 0o755 {
			t.Errorf("run.sh has mode %o in the container, want 755", got)
		}
		if out, err := s.exec("notification", "/usr/src/app/run.sh"); err != nil || out != "run\n" {
			t.Errorf("running run.sh in the container: %v: %q", err, out)
		}
	})

	t.Run("chmod +x and -x without content change", func(t *testing.T) {
		writeFile(t, filepath.Join(root, "lib", "tool.sh"), "#!/bin/sh\necho tool\n")
		waitConverged(t, root, id, appDir, "node_modules")
		modeOnly("lib/tool.sh", 0o755, 0o755)
		modeOnly("lib/tool.sh", 0o644, 0o644)
		modeOnly("lib/tool.sh", 0o755, 0o755)
	})

	t.Run("setuid and setgid are not copied", func(t *testing.T) {
		writeFile(t, filepath.Join(root, "lib", "suid.sh"), "#!/bin/sh\n")
		writeFile(t, filepath.Join(root, "lib", "sgid.sh"), "#!/bin/sh\n")
		waitConverged(t, root, id, appDir, "node_modules")
		modeOnly("lib/suid.sh", 0o755|fs.ModeSetuid, 0o755)
		modeOnly("lib/sgid.sh", 0o755|fs.ModeSetgid, 0o755)
		for _, rel := range []string{"lib/suid.sh", "lib/sgid.sh"} {
			if got := containerMode(t, id, rel); got&0o6000 != 0 {
				t.Errorf("%s has mode %o in the container: setuid or setgid was copied", rel, got)
			}
		}
	})
}
