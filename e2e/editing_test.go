package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// vimSave saves a file the way vim does by default: it probes the folder
// with a file named 4913, renames the original to name~, writes a new file
// and removes the backup.
func vimSave(t *testing.T, path, content string) {
	t.Helper()
	dir := filepath.Dir(path)
	probe := filepath.Join(dir, "4913")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(probe); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+"~"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + "~"); err != nil {
		t.Fatal(err)
	}
}

func TestVimSaveRestartsOncePerSave(t *testing.T) {
	cases := []struct {
		service string
		url     func(*stack) string
	}{
		{"notification", (*stack).notificationURL}, // synced
		{"api", (*stack).apiURL},                   // bind-mounted
	}
	s := startStack(t)
	d := startDevd(t, s)

	for _, tc := range cases {
		t.Run(tc.service, func(t *testing.T) {
			id := s.containerID(tc.service)
			since := time.Now()
			before := d.countLogs("restarting", map[string]string{"service": tc.service})

			for i := 1; i <= 3; i++ {
				want := fmt.Sprintf("vim save %d", i)
				vimSave(t, filepath.Join(s.dir, tc.service, "message.js"), messageModule(want))
				waitHTTP(t, tc.url(s), func(body string) bool { return message(body) == want })
				settle(t, d, tc.service)
			}

			if n := d.countLogs("restarting", map[string]string{"service": tc.service}) - before; n != 3 {
				t.Errorf("devd restarted %s %d times for 3 saves, want 3", tc.service, n)
			}
			if n := countStarts(t, id, since); n != 3 {
				t.Errorf("container of %s started %d times for 3 saves, want 3", tc.service, n)
			}
			if tc.service == "notification" {
				for _, name := range []string{"message.js~", "4913"} {
					if out, err := s.exec(tc.service, "ls", appDir+"/"+name); err == nil {
						t.Errorf("%s reached the container: %s", name, out)
					}
				}
				waitConverged(t, filepath.Join(s.dir, tc.service), id, appDir, "node_modules")
			}
		})
	}
}

func TestOneSaveOneRestart(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	restarts := func() int { return d.countLogs("restarting", map[string]string{"service": "notification"}) }

	t.Run("chmod write write", func(t *testing.T) {
		before := restarts()
		path := filepath.Join(root, "message.js")
		if err := os.Chmod(path, 0o664); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, messageModule("multi"))
		writeFile(t, path, messageModule("multi event save"))
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "multi event save" })
		settle(t, d, "notification")
		if n := restarts() - before; n != 1 {
			t.Errorf("one save restarted the service %d times, want 1", n)
		}
	})

	t.Run("save all", func(t *testing.T) {
		before := restarts()
		for i := 0; i < 4; i++ {
			writeFile(t, filepath.Join(root, "lib", fmt.Sprintf("part%d.js", i)), fmt.Sprintf("module.exports = %d;\n", i))
		}
		writeFile(t, filepath.Join(root, "message.js"), messageModule("saved all"))
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "saved all" })
		settle(t, d, "notification")
		if n := restarts() - before; n != 1 {
			t.Errorf("saving five files restarted the service %d times, want 1", n)
		}
		waitConverged(t, root, id, appDir, "node_modules")
	})

	t.Run("change during restart", func(t *testing.T) {
		before := restarts()
		since := time.Now()
		writeFile(t, filepath.Join(root, "message.js"), messageModule("first"))
		waitFor(t, changeTimeout, "the restart to begin", func() bool { return restarts() > before })
		writeFile(t, filepath.Join(root, "message.js"), messageModule("during restart"))
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "during restart" })
		settle(t, d, "notification")
		if n := restarts() - before; n != 2 {
			t.Errorf("a change during a restart led to %d restarts in all, want 2", n)
		}
		if n := countStarts(t, id, since); n != 2 {
			t.Errorf("container started %d times, want 2", n)
		}
	})
}

func TestNewFoldersAreSyncedAndWatched(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	// mkdir -p and a file in one go: the watcher sees only the top folder
	// being created.
	cmd := exec.Command("sh", "-c", "mkdir -p feat/x/y && echo 1 > feat/x/y/f.js")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	waitConverged(t, root, id, appDir, "node_modules")

	writeFile(t, filepath.Join(root, "feat", "x", "y", "f.js"), "2\n")
	writeFile(t, filepath.Join(root, "feat", "x", "y", "g.js"), "3\n")
	waitConverged(t, root, id, appDir, "node_modules")

	// A three-level tree copied in with cp -r.
	src := filepath.Join(t.TempDir(), "tree")
	for _, p := range []string{"a.js", "one/b.js", "one/two/c.js", "one/two/three/d.js"} {
		writeFile(t, filepath.Join(src, p), p+"\n")
	}
	if out, err := exec.Command("cp", "-r", src, filepath.Join(root, "copied")).CombinedOutput(); err != nil {
		t.Fatalf("cp -r: %v: %s", err, out)
	}
	waitConverged(t, root, id, appDir, "node_modules")

	writeFile(t, filepath.Join(root, "copied", "one", "two", "three", "d.js"), "edited\n")
	waitConverged(t, root, id, appDir, "node_modules")

	// On the bind-mounted service, an edit inside a new folder restarts it.
	apiRoot := filepath.Join(s.dir, "api")
	cmd = exec.Command("sh", "-c", "mkdir -p deep/a/b && echo 1 > deep/a/b/h.js")
	cmd.Dir = apiRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	settle(t, d, "api")
	before := d.countLogs("restarting", map[string]string{"service": "api"})
	writeFile(t, filepath.Join(apiRoot, "deep", "a", "b", "h.js"), "2\n")
	waitFor(t, changeTimeout, "api to restart after an edit in a new folder", func() bool {
		return d.countLogs("restarting", map[string]string{"service": "api"}) > before
	})
}

func TestRenamesLeaveOnlyNewNames(t *testing.T) {
	s := startStack(t)
	startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	writeFile(t, filepath.Join(root, "components", "button", "Base.vue"), "<template/>\n")
	writeFile(t, filepath.Join(root, "components", "button", "Other.vue"), "<template/>\n")
	waitConverged(t, root, id, appDir, "node_modules")

	if err := os.Rename(filepath.Join(root, "components", "button", "Base.vue"), filepath.Join(root, "components", "button", "Base1.vue")); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, root, id, appDir, "node_modules")

	if err := os.Rename(filepath.Join(root, "components", "button"), filepath.Join(root, "components", "btn")); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, root, id, appDir, "node_modules")

	if out, err := s.exec("notification", "ls", appDir+"/components/button"); err == nil {
		t.Errorf("the renamed folder's old name is still in the container: %s", out)
	}
}
