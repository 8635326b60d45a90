package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// nonRootUser runs the notification service as uid and gid 1000 (the
// image's node user); its files stay as the image made them, owned by root.
const nonRootUser = `    user: "1000:1000"
`

// wantSyncOwner is the owner that files devd writes get under nonRootUser.
const wantSyncOwner = "1000:1000"

// checkOwners fails the test for every path whose owner in the container
// is not want.
func checkOwners(t *testing.T, id string, want string, paths ...string) {
	t.Helper()
	headers := containerHeaders(t, id, appDir)
	for _, p := range paths {
		h, ok := headers[p]
		if !ok {
			t.Errorf("%s is missing in the container", p)
			continue
		}
		if got := ownerOf(h); got != want {
			t.Errorf("%s is owned by %s in the container, want %s", p, got, want)
		}
	}
}

func TestNewParentFoldersGetSyncOwner(t *testing.T) {
	s := startStackSetup(t, stackSetup{notification: nonRootUser})
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	t.Run("while devd runs", func(t *testing.T) {
		d := startDevd(t, s)
		writeFile(t, filepath.Join(root, "posts", "2024", "hello.md"), "# hello\n")
		waitConverged(t, root, id, appDir, "node_modules")
		checkOwners(t, id, wantSyncOwner, "posts/2024/hello.md", "posts/2024", "posts")
		d.stop()
	})

	t.Run("before devd starts", func(t *testing.T) {
		writeFile(t, filepath.Join(root, "drafts", "a", "b", "note.md"), "draft\n")
		startDevd(t, s)
		waitConverged(t, root, id, appDir, "node_modules")
		checkOwners(t, id, wantSyncOwner, "drafts/a/b/note.md", "drafts/a/b", "drafts/a", "drafts")
	})
}

func TestNonRootUserEditsRootOwnedFiles(t *testing.T) {
	s := startStackSetup(t, stackSetup{notification: nonRootUser})
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	// Checked before devd starts: its first comparison gives every synced
	// file the sync owner.
	before := containerHeaders(t, id, appDir)
	for _, p := range []string{"message.js", "Dockerfile"} {
		if h, ok := before[p]; !ok || ownerOf(h) != "0:0" {
			t.Fatalf("the image's %s should be owned by root before the test: %v", p, h)
		}
	}
	d := startDevd(t, s)

	// Edit a root-owned file, create one, delete a root-owned one.
	writeFile(t, filepath.Join(root, "message.js"), messageModule("edited as 1000"))
	writeFile(t, filepath.Join(root, "lib", "created.js"), "module.exports = 'created';\n")
	if err := os.Remove(filepath.Join(root, "Dockerfile")); err != nil {
		t.Fatal(err)
	}

	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "edited as 1000" })
	waitConverged(t, root, id, appDir, "node_modules")
	checkOwners(t, id, wantSyncOwner, "message.js", "lib", "lib/created.js")
	if _, ok := containerHeaders(t, id, appDir)["Dockerfile"]; ok {
		t.Errorf("the deleted root-owned Dockerfile is still in the container")
	}
	noErrorLogs(t, d)
}
