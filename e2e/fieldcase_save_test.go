package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// atomicSave writes content to a temporary file next to path and renames it
// over path, as gedit (.goutputstream-XXXXXX) and many atomic writers do.
func atomicSave(t *testing.T, path, tempName, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), tempName)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestAtomicSaveRenameIsSynced(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	cases := []struct {
		name string
		temp func(round, save int) string
	}{
		// gedit's name, which devd ignores by pattern.
		{"gedit", func(round, save int) string { return fmt.Sprintf(".goutputstream-%d%dQX7", round, save) }},
		// A name that no ignore pattern matches: the temporary path
		// reaches the batch and no longer exists when the batch is applied.
		{"atomic writer", func(round, save int) string { return fmt.Sprintf("message.js.%d%d.tmp", round, save) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for round := 1; round <= 3; round++ {
				want := fmt.Sprintf("%s save %d", tc.name, round)
				// Several saves within milliseconds, ending with want, and
				// other files of the same batch: written, and written then
				// removed again.
				for save := 1; save <= 4; save++ {
					content := fmt.Sprintf("%s save %d.%d", tc.name, round, save)
					if save == 4 {
						content = want
					}
					atomicSave(t, filepath.Join(root, "message.js"), tc.temp(round, save), messageModule(content))
				}
				writeFile(t, filepath.Join(root, "lib", fmt.Sprintf("beside%d.js", round)), fmt.Sprintf("module.exports = %d;\n", round))
				shortLived := filepath.Join(root, "lib", tc.temp(round, 9))
				writeFile(t, shortLived, "short-lived\n")
				if err := os.Remove(shortLived); err != nil {
					t.Fatal(err)
				}

				waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == want })
				waitConverged(t, root, id, appDir, "node_modules")
				settle(t, d, "notification")
			}
		})
	}

	for _, level := range []string{"error", "warn"} {
		for _, l := range d.levelLogs(level) {
			t.Errorf("devd logged at level %s during atomic saves: %v", level, l)
		}
	}
}
