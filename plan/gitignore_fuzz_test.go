package plan

import (
	"strings"
	"testing"

	"github.com/devdtool/devd/watch"
)

// fuzzUnrelated is a name that a pattern without wildcards matches only if
// it contains the name.
const fuzzUnrelated = "unrelated-name"

// FuzzGitignoreToDockerignore converts any .gitignore line. A converted line
// must be a pattern that watch.NewMatcher accepts, because one rejected
// pattern makes the whole rule fail. A line without wildcards must not match
// names it does not contain, and only a negated line may become a negated
// pattern.
func FuzzGitignoreToDockerignore(f *testing.F) {
	seeds := []string{
		"",
		"# comment",
		"*.log",
		"build/",
		"/dist",
		"docs/*.md",
		"!keep.log",
		"**/tmp",
		`\#hash`,
		`\!bang`,
		"trailing   \t\r",
		`\`,
		"a[/]b",
		"//",
		"!/",
		"***",
		"a/**/b",
		"**",
		"/**",
		"..",
		"../x",
		"\x00",
		"\xff",
		"  leading",
	}
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, "\n") {
			// readGitignore reads one line at a time.
			return
		}
		got, ok := gitignoreToDockerignore(line)
		if !ok {
			return
		}
		m, err := watch.NewMatcher("/base", []string{got})
		if err != nil {
			t.Fatalf("gitignoreToDockerignore(%q) = %q, which NewMatcher rejects: %v", line, got, err)
		}
		// Without a wildcard or an escape, a git pattern only matches the
		// names it contains.
		if !strings.ContainsAny(line, `*?[\`) && !strings.Contains(line, fuzzUnrelated) && m.Matches("/base/"+fuzzUnrelated) {
			t.Fatalf("gitignoreToDockerignore(%q) = %q, which ignores %s; git does not", line, got, fuzzUnrelated)
		}
		if strings.HasPrefix(got, "!") != strings.HasPrefix(line, "!") {
			t.Fatalf("gitignoreToDockerignore(%q) = %q: only a line that starts with \"!\" may re-include", line, got)
		}
	})
}
