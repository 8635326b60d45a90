package watch_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devdtool/devd/watch"
)

const base = "/project/app"

func TestMatcherMatches(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		path     string
		want     bool
	}{
		{"plain name at top", []string{"node_modules"}, "node_modules", true},
		{"plain name under it", []string{"node_modules"}, "node_modules/lodash/index.js", true},
		{"plain name is anchored", []string{"node_modules"}, "pkg/node_modules/x.js", false},
		{"double star any depth", []string{"**/node_modules"}, "pkg/a/node_modules/x.js", true},
		{"double star at top", []string{"**/node_modules"}, "node_modules", true},
		{"double star in middle", []string{"src/**/*.test.js"}, "src/a/b/c.test.js", true},
		{"double star zero folders", []string{"src/**/*.test.js"}, "src/c.test.js", true},
		{"trailing double star", []string{"build/**"}, "build/out/main.o", true},
		{"star stays in one folder", []string{"*.log"}, "logs/app.log", false},
		{"star at top", []string{"*.log"}, "app.log", true},
		{"question mark", []string{"file?.txt"}, "file1.txt", true},
		{"character class", []string{"file[0-9].txt"}, "fileA.txt", false},
		{"folder pattern with slash", []string{"dist/"}, "dist/bundle.js", true},
		{"leading slash", []string{"/dist"}, "dist/bundle.js", true},
		{"reinclude", []string{"*.md", "!README.md"}, "README.md", false},
		{"reinclude keeps others", []string{"*.md", "!README.md"}, "CHANGES.md", true},
		{"reinclude then exclude again", []string{"*.md", "!README.md", "README.md"}, "README.md", true},
		{"reinclude before exclude has no effect", []string{"!README.md", "*.md"}, "README.md", true},
		{"reinclude under excluded folder", []string{"docs", "!docs/keep.md"}, "docs/keep.md", false},
		{"reinclude under excluded folder keeps others", []string{"docs", "!docs/keep.md"}, "docs/other.md", true},
		{"comment-like pattern is literal", []string{"#notes"}, "#notes", true},
		{"no patterns", nil, "anything", false},
		{"surrounding spaces", []string{"  tmp  "}, "tmp/x", true},
		{"empty pattern ignored", []string{"", "   "}, "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := watch.NewMatcher(base, tt.patterns)
			if err != nil {
				t.Fatalf("NewMatcher(%q): %v", tt.patterns, err)
			}
			path := filepath.Join(base, tt.path)
			if got := m.Matches(path); got != tt.want {
				t.Errorf("Matches(%q) with %q = %v, want %v", path, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestMatcherOutsideBase(t *testing.T) {
	m, err := watch.NewMatcher(base, []string{"*", "**"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		base,
		"/project",
		"/project/application/x",
		"/project/other/app/x",
		"/elsewhere",
		"relative/path",
	} {
		if m.Matches(path) {
			t.Errorf("Matches(%q) = true for a path that is not inside %s", path, base)
		}
		if m.SkipDir(path) {
			t.Errorf("SkipDir(%q) = true for a path that is not inside %s", path, base)
		}
	}
	if !m.Matches(base + "/x") {
		t.Errorf("Matches(%q) = false, want true", base+"/x")
	}
}

func TestMatcherNil(t *testing.T) {
	var m *watch.Matcher
	if m.Matches(base + "/x") {
		t.Error("nil Matcher matched a path")
	}
	if m.SkipDir(base + "/x") {
		t.Error("nil Matcher skipped a folder")
	}
	if m.Skip(base+"/x", true) {
		t.Error("nil Matcher skipped a path")
	}
}

func TestMatcherSkipDir(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		dir      string
		want     bool
	}{
		{"matching folder", []string{"node_modules"}, "node_modules", true},
		{"folder under matching folder", []string{"node_modules"}, "node_modules/lodash", true},
		{"not matching", []string{"node_modules"}, "src", false},
		{"reinclude inside", []string{"node_modules", "!node_modules/mylib"}, "node_modules", false},
		{"reinclude deep inside", []string{"node_modules", "!node_modules/mylib/dist/x.js"}, "node_modules/mylib", false},
		{"reinclude of a sibling", []string{"node_modules", "!node_modules/mylib"}, "node_modules/other", true},
		{"reinclude with star", []string{"vendor", "!vendor/*/keep"}, "vendor/pkg", false},
		{"reinclude with star elsewhere", []string{"vendor", "!other/*/keep"}, "vendor/pkg", true},
		{"reinclude with double star", []string{"build", "!**/*.go"}, "build", false},
		{"reinclude of a parent", []string{"a/b", "!a"}, "a/b", false},
		{"reinclude of unrelated file", []string{"node_modules", "!README.md"}, "node_modules", true},
		{"reinclude that names the folder", []string{"tmp", "!tmp"}, "tmp", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := watch.NewMatcher(base, tt.patterns)
			if err != nil {
				t.Fatalf("NewMatcher(%q): %v", tt.patterns, err)
			}
			dir := filepath.Join(base, tt.dir)
			if got := m.SkipDir(dir); got != tt.want {
				t.Errorf("SkipDir(%q) with %q = %v, want %v", dir, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestMatcherSkip(t *testing.T) {
	m, err := watch.NewMatcher(base, []string{"node_modules", "!node_modules/mylib", "*.log"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Skip(base+"/node_modules", true) {
		t.Error("Skip left out node_modules although node_modules/mylib is re-included")
	}
	if !m.Skip(base+"/node_modules/other.js", false) {
		t.Error("Skip kept node_modules/other.js")
	}
	if m.Skip(base+"/node_modules/mylib/index.js", false) {
		t.Error("Skip left out re-included node_modules/mylib/index.js")
	}
	if !m.Skip(base+"/app.log", false) {
		t.Error("Skip kept app.log")
	}
}

func TestNewMatcherInvalidPattern(t *testing.T) {
	for _, pattern := range []string{"[", "src/[a-", "!", "! "} {
		_, err := watch.NewMatcher(base, []string{"ok", pattern})
		if err == nil {
			t.Errorf("NewMatcher accepted invalid pattern %q", pattern)
			continue
		}
		if !strings.Contains(err.Error(), pattern) {
			t.Errorf("error %q does not name the pattern %q", err, pattern)
		}
	}
}

// CheckPattern must accept exactly the patterns NewMatcher accepts, because
// the configuration check relies on it.
func TestCheckPatternAgreesWithNewMatcher(t *testing.T) {
	for _, pattern := range []string{"[", "src/[a-", "!", "! ", "tmp/", "*.log", "!README.md", "", "  ", "/dist", "a\\[b"} {
		_, matcherErr := watch.NewMatcher(base, []string{pattern})
		checkErr := watch.CheckPattern(pattern)
		if (matcherErr == nil) != (checkErr == nil) {
			t.Errorf("pattern %q: CheckPattern gives %v, NewMatcher %v", pattern, checkErr, matcherErr)
		}
	}
}

func TestNewMatcherRelativeBase(t *testing.T) {
	if _, err := watch.NewMatcher("project", nil); err == nil {
		t.Error("NewMatcher accepted a relative base folder")
	}
}

func TestDefaultIgnores(t *testing.T) {
	m, err := watch.NewMatcher(base, watch.DefaultIgnores)
	if err != nil {
		t.Fatalf("NewMatcher(DefaultIgnores): %v", err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{".git", true},
		{".git/HEAD", true},
		{"sub/module/.git/objects/ab/cd", true},
		{"src/.a.js.swp", true},
		{"src/.a.js.swx", true},
		{"src/a.js~", true},
		{"src/4913", true},
		{"src/a.js___jb_tmp___", true},
		{"src/a.js___jb_old___", true},
		{"src/.goutputstream-ABC123", true},
		{"src/.#a.js", true},
		{"src/#a.js#", true},
		{".DS_Store", true},
		{"src/.DS_Store", true},
		{"src/a.js", false},
		{".gitignore", false},
		{"src/.github/workflows/ci.yml", false},
		{"src/49130", false},
		{"src/#", false},
		{"src/a#b", false},
		{"src/swp", false},
	}
	for _, tt := range tests {
		path := filepath.Join(base, tt.path)
		if got := m.Matches(path); got != tt.want {
			t.Errorf("DefaultIgnores matching %q = %v, want %v", tt.path, got, tt.want)
		}
		if got := watch.IsDefaultIgnored(path); got != tt.want {
			t.Errorf("IsDefaultIgnored(%q) = %v, want %v", path, got, tt.want)
		}
	}
	if !m.SkipDir(base + "/sub/.git") {
		t.Error("DefaultIgnores do not let a watcher skip a .git folder")
	}
}

func TestIsEditorTemp(t *testing.T) {
	temp := []string{".main.go.swp", ".main.go.swx", "main.go~", "4913", "main.go___jb_tmp___",
		"main.go___jb_old___", ".goutputstream-XYZ", ".#main.go", "#main.go#"}
	for _, name := range temp {
		if !watch.IsEditorTemp(name) {
			t.Errorf("IsEditorTemp(%q) = false, want true", name)
		}
	}
	kept := []string{"main.go", "4914", ".gitignore", "#", "#main.go", "jb_tmp", ".DS_Store"}
	for _, name := range kept {
		if watch.IsEditorTemp(name) {
			t.Errorf("IsEditorTemp(%q) = true, want false", name)
		}
	}
}

func TestInGitDir(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/p/.git", true},
		{"/p/.git/refs/heads/main", true},
		{"/p/vendor/x/.git/config", true},
		{"/p/.gitignore", false},
		{"/p/.github/x", false},
		{"/p/src/git/x", false},
	}
	for _, tt := range tests {
		if got := watch.InGitDir(tt.path); got != tt.want {
			t.Errorf("InGitDir(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestReadIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".dockerignore")
	content := "\ufeff# comment\nnode_modules\n\n  /dist/  \n!dist/keep\n*.log\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := watch.ReadIgnoreFile(path)
	if err != nil {
		t.Fatalf("ReadIgnoreFile: %v", err)
	}
	want := []string{"node_modules", "dist", "!dist/keep", "*.log"}
	if !slices.Equal(got, want) {
		t.Errorf("ReadIgnoreFile = %q, want %q", got, want)
	}
}

func TestReadIgnoreFileMissing(t *testing.T) {
	got, err := watch.ReadIgnoreFile(filepath.Join(t.TempDir(), ".dockerignore"))
	if err != nil {
		t.Errorf("ReadIgnoreFile of a missing file: %v", err)
	}
	if got != nil {
		t.Errorf("ReadIgnoreFile of a missing file = %q, want nil", got)
	}
}

func TestReadIgnoreFileFolder(t *testing.T) {
	if _, err := watch.ReadIgnoreFile(t.TempDir()); err == nil {
		t.Error("ReadIgnoreFile of a folder returned no error")
	}
}

func TestMatcherConcurrentUse(t *testing.T) {
	m, err := watch.NewMatcher(base, []string{"**/*.log", "node_modules", "!node_modules/x/**"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 100 {
				m.Matches(base + "/a/b.log")
				m.SkipDir(base + "/node_modules/y")
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func TestMatcherUncleanPaths(t *testing.T) {
	m, err := watch.NewMatcher(base, []string{"gen", "*.log", "!keep.log"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{base + "/gen/a.js", true},
		{base + "//gen/a.js", true},
		{base + "/src/../gen/a.js", true},
		{base + "/./gen/", true},
		{base + "/gen/../src/a.js", false},
		{base + "/x.log/", true},
		{base + "/keep.log", false},
		{base + "/./keep.log", false},
		{base + "/..", false},
		{base + "/../app2/gen", false},
		{base + "/", false},
	}
	for _, tt := range tests {
		if got := m.Matches(tt.path); got != tt.want {
			t.Errorf("Matches(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
