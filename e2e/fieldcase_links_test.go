package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsideListing lists what the container has outside the sync target that
// a link could lead a copy to: the target's parent folder without the
// target, and /etc, with each file's size.
func outsideListing(t *testing.T, s *stack) string {
	t.Helper()
	out, err := s.exec("notification", "sh", "-c",
		"find /usr/src /etc /tmp /root -xdev -path /usr/src/app -prune -o -print | sort | while read -r p; do echo \"$p $(stat -c %s \"$p\")\"; done")
	if err != nil {
		t.Fatalf("listing the container outside %s: %v\n%s", appDir, err, out)
	}
	return out
}

func TestSymlinksFollowOnePolicy(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	hostsBefore, err := s.exec("notification", "cat", "/etc/hosts")
	if err != nil {
		t.Fatalf("reading /etc/hosts: %v: %s", err, hostsBefore)
	}
	listingBefore := outsideListing(t, s)

	writeFile(t, filepath.Join(root, "lib", "target.js"), "module.exports = 'target';\n")
	links := map[string]string{
		"ext":          "../api",     // a folder outside the synced tree
		"parent":       "..",         // the folder above the synced tree
		"abs":          "/etc/hosts", // absolute
		"loop":         ".",          // a loop: the tree's own root
		"lib/inside":   "target.js",  // a file inside the tree
		"libs":         "lib",        // a folder inside the tree
		"lib/up/again": "../../ext",  // inside, pointing at a link that leaves
	}
	for link, target := range links {
		p := filepath.Join(root, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	// Links that leave the tree are skipped; everything else matches.
	skipped := []string{"ext", "parent", "abs"}
	waitConverged(t, root, id, appDir, append([]string{"node_modules"}, skipped...)...)

	headers := containerHeaders(t, id, appDir)
	for _, link := range skipped {
		if h, ok := headers[link]; ok {
			t.Errorf("%s reached the container as %q (type %c)", link, h.Linkname, h.Typeflag)
		}
		if !warnedAbout(d, filepath.Join(root, link)) {
			t.Errorf("missing warning about the skipped link %s -> %s", link, links[link])
		}
	}
	for _, link := range []string{"loop", "lib/inside", "libs", "lib/up/again"} {
		h, ok := headers[link]
		if !ok || h.Linkname != links[link] {
			t.Errorf("%s in the container: got %v, expected a link to %s", link, h, links[link])
		}
	}

	// devd is not stuck: later edits still land, through the inside link's
	// folder too.
	writeFile(t, filepath.Join(root, "lib", "target.js"), "module.exports = 'edited';\n")
	writeFile(t, filepath.Join(root, "message.js"), messageModule("after links"))
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "after links" })
	waitConverged(t, root, id, appDir, append([]string{"node_modules"}, skipped...)...)

	// Nothing was written outside the target.
	if hosts, _ := s.exec("notification", "cat", "/etc/hosts"); hosts != hostsBefore {
		t.Errorf("/etc/hosts changed in the container:\nbefore:\n%s\nafter:\n%s", hostsBefore, hosts)
	}
	if after := outsideListing(t, s); after != listingBefore {
		t.Errorf("files outside %s changed:\n%s", appDir, lineDiff(listingBefore, after))
	}
	noErrorLogs(t, d)
}

// warnedAbout reports whether devd warned that it skips the link at path.
func warnedAbout(d *devdProcess, path string) bool {
	for _, l := range d.logs("skipping symlink", nil) {
		if l["@level"] == "warn" && l["path"] == path {
			return true
		}
	}
	return false
}

// lineDiff lists the lines only in a and only in b.
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := make(map[string]bool)
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for l := range ma {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range mb {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}
