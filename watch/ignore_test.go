package watch_test

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devdtool/devd/watch"
)

// TestDefaultIgnoredBelowMatchesMatcher checks DefaultIgnoredBelow
// against a Matcher of DefaultIgnores, the engine's own pattern semantics,
// on random paths built from names that the patterns match and names that
// come close to them.
func TestDefaultIgnoredBelowMatchesMatcher(t *testing.T) {
	base := "/project/api"
	m, err := watch.NewMatcher(base, watch.DefaultIgnores)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{
		"src", "index.js", "a.swp", ".swp", "a.swpx", "b.swx", "c~", "~", "~d",
		"4913", "49130", "x___jb_tmp___", "x___jb_old___", "___jb_tmp___x",
		".goutputstream-AB12", ".goutputstream", ".#lock", ".#", "#auto#", "#",
		"##", "#a", ".DS_Store", ".DS_Store2", ".git", ".gitignore", "git",
		".github", "a b", "é.js",
	}
	check := func(rel string) {
		t.Helper()
		p := filepath.Join(base, rel)
		want := m.Matches(p)
		if got := watch.DefaultIgnoredBelow(base, p); got != want {
			t.Errorf("DefaultIgnoredBelow(%q) = %v, Matches returns %v", rel, got, want)
		}
		if got, want := watch.DefaultIgnoredBelow(base, p), m.SkipDir(p); got != want {
			t.Errorf("DefaultIgnoredBelow(%q) = %v for a folder, SkipDir returns %v", rel, got, want)
		}
	}
	for _, n := range names {
		check(n)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		depth := 1 + rng.IntN(4)
		elements := make([]string, depth)
		for i := range elements {
			elements[i] = names[rng.IntN(len(names))]
		}
		check(strings.Join(elements, "/"))
	}

	for _, p := range []string{base, "/project", "/project/api2/x.swp", "/elsewhere/.git/HEAD"} {
		if watch.DefaultIgnoredBelow(base, p) {
			t.Errorf("DefaultIgnoredBelow(%q) is true for a path not below %s", p, base)
		}
	}
}
