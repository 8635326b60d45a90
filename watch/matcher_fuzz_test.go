package watch_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/devdtool/devd/watch"
)

// fuzzBase is the folder the fuzzed patterns are relative to.
const fuzzBase = "/base"

// FuzzMatcher checks Matcher on any patterns and paths: NewMatcher never
// panics, and for a valid matcher Matches and SkipDir give the same result
// every time and on a fresh matcher, SkipDir keeps its promise that nothing
// under a skipped folder can be included, and paths that are not strictly
// inside the base folder never match.
//
// patterns holds one pattern a line; dir is a folder relative to the base
// and sub a path relative to that folder.
func FuzzMatcher(f *testing.F) {
	seeds := []struct{ patterns, dir, sub string }{
		{"node_modules", "node_modules", "a/b.js"},
		{"node_modules\n!node_modules/keep", "node_modules", "keep/x"},
		{"*.log\n!important.log", "logs", "important.log"},
		{"**/.git", "a/.git", "objects/ab"},
		{"build\n!build/**/keep", "build", "x/y/keep"},
		{"a\n!a/b*", "a", "bc/d"},
		{"a\n!a?b", "a", "b"},
		{"a\n!a[/]b", "a", "b"},
		{"a\n!\\!a/b", "a", "b"},
		{"a/*\n!a/*/c", "a/b", "c/d"},
		{"/abs/../x\n!./y", "x", "y"},
		{"  spaced  \n\t!spaced/in  ", "spaced", "in"},
		{"*", "any", "thing"},
		{"**", "any", "thing/deeper"},
		{"!", "a", "b"},
		{"[", "a", "b"},
		{"a\\", "a", "b"},
		{"dir\n!*", "dir", "x"},
		{"a\n!a\\/b", "a", "b"},
		{"a\n!a/b\\", "a", "b"},
		{"x", "../base/x", "y"},
		{"x", "../basex/x", "y"},
		{"x", "..", "x"},
		{"*", "", "x"},
		{"a\nb\n!a/b", "a", "b/c"},
		{"a\n!a\x00b", "a", "b"},
		{"a\n!a/\xff", "a", "\xff"},
		{"a*\n!a*/b\n", "a\nb", "b"},
	}
	for _, s := range seeds {
		f.Add(s.patterns, s.dir, s.sub)
	}

	f.Fuzz(func(t *testing.T, patterns, dir, sub string) {
		lines := strings.Split(patterns, "\n")
		m, err := watch.NewMatcher(fuzzBase, lines)
		if err != nil {
			return
		}
		fresh, err := watch.NewMatcher(fuzzBase, lines)
		if err != nil {
			t.Fatalf("NewMatcher(%q) accepted the patterns once, then rejected them: %v", lines, err)
		}

		d := filepath.Join(fuzzBase, dir)
		p := filepath.Join(d, sub)
		candidates := []string{
			d, p,
			filepath.Join("/", dir),
			filepath.Join("/basex", dir),
			"/base" + dir,
			fuzzBase + "/" + dir,
			fuzzBase,
			"/",
		}

		// Ask the fresh matcher in the opposite order, since patterns are
		// compiled on first use.
		freshAnswers := make(map[string][2]bool, len(candidates))
		for i := len(candidates) - 1; i >= 0; i-- {
			c := candidates[i]
			freshAnswers[c] = [2]bool{fresh.Matches(c), fresh.SkipDir(c)}
		}

		for _, c := range candidates {
			matches, skip := m.Matches(c), m.SkipDir(c)
			if again := m.Matches(c); again != matches {
				t.Fatalf("patterns %q: Matches(%q) gave %v, then %v", lines, c, matches, again)
			}
			if again := m.SkipDir(c); again != skip {
				t.Fatalf("patterns %q: SkipDir(%q) gave %v, then %v", lines, c, skip, again)
			}
			if want := freshAnswers[c]; want != [2]bool{matches, skip} {
				t.Fatalf("patterns %q: %q gives Matches %v, SkipDir %v, but %v, %v on a fresh matcher", lines, c, matches, skip, want[0], want[1])
			}
			if !fuzzStrictlyUnder(fuzzBase, c) && (matches || skip) {
				t.Fatalf("patterns %q: %q is not inside %s, yet Matches is %v and SkipDir %v", lines, c, fuzzBase, matches, skip)
			}
			if skip && !matches {
				t.Fatalf("patterns %q: SkipDir(%q) is true, but the folder itself does not match", lines, c)
			}
		}

		// SkipDir promises that nothing under the folder can be included.
		if m.SkipDir(d) && fuzzStrictlyUnder(d, p) && !m.Matches(p) {
			t.Fatalf("patterns %q: SkipDir(%q) is true, but %q under it does not match", lines, d, p)
		}
		if m.Skip(d, true) != m.SkipDir(d) || m.Skip(p, false) != m.Matches(p) {
			t.Fatalf("patterns %q: Skip disagrees with SkipDir or Matches for %q and %q", lines, d, p)
		}
	})
}

// fuzzStrictlyUnder reports whether p, once cleaned, lies below the clean
// folder dir and is not dir itself.
func fuzzStrictlyUnder(dir, p string) bool {
	p = filepath.Clean(p)
	return p != dir && strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
