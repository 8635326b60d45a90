package plan

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/devdtool/devd/watch"
)

// readGitignore reads the .gitignore file at the top of a watched folder
// and turns its patterns into .dockerignore patterns relative to that
// folder. A missing file gives no patterns.
//
// NOTE: only the top .gitignore of the folder is read; .gitignore files in
// sub-folders and the global excludes file are not.
func readGitignore(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ".gitignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()

	var patterns []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := gitignoreToDockerignore(sc.Text()); ok {
			patterns = append(patterns, p)
		}
	}
	return patterns, sc.Err()
}

// gitignoreToDockerignore converts one .gitignore line. The two formats
// differ in one way that matters here: a .gitignore pattern without a slash
// (other than a trailing one) matches at any depth, while a .dockerignore
// pattern is anchored at the folder, so such a pattern gets a "**/" prefix.
// A leading slash anchors a .gitignore pattern and is dropped. A line that
// gives no pattern, or one the matcher cannot read, converts to nothing, as
// git matches nothing with it.
//
// NOTE: Docker trims blanks around a pattern, so a name that starts or ends
// with a blank (git's "\ " escape) cannot be expressed: such a line is
// dropped, or matches the name without its blanks.
func gitignoreToDockerignore(line string) (string, bool) {
	line = strings.TrimRight(line, " \t\r")
	if line == "" || strings.HasPrefix(line, "#") {
		return "", false
	}
	negate := strings.HasPrefix(line, "!")
	line = strings.TrimPrefix(line, "!")
	line = strings.TrimPrefix(line, `\`)

	body := strings.TrimSuffix(line, "/")
	if last := strings.TrimSpace(body[strings.LastIndex(body, "/")+1:]); last == "" || last == "." {
		// Git matches nothing with "/", "!" or ".", and Docker trims a name
		// of blanks (" /"). Each would become a pattern for everything.
		return "", false
	}
	switch {
	case strings.HasPrefix(body, "/"):
		line = strings.TrimPrefix(line, "/")
	case !strings.Contains(body, "/") && !strings.HasPrefix(body, "**"):
		line = "**/" + line
	}
	if strings.HasPrefix(line, "!") {
		// Escape a name that starts with "!" ("\!keep", "/!keep"), so that
		// it is not read as a re-include.
		line = `\` + line
	}
	line = escapeRegexpChars(line)
	if negate {
		line = "!" + line
	}
	if _, err := watch.NewMatcher("/", []string{line}); err != nil {
		// Git never matches a pattern it cannot read ("[", a trailing
		// "\"), and the matcher would reject it with the whole rule.
		return "", false
	}
	return line, true
}

// escapeRegexpChars escapes "|", "{" and "}" where the pattern does not
// already. They are plain characters in a .gitignore, but
// moby/patternmatcher v0.6.1 passes them to its regular expression
// unescaped (its table of characters to escape loses every byte from 64
// up), so "a|b" would match "a" or "b", and "*|x" every path.
func escapeRegexpChars(pattern string) string {
	var b strings.Builder
	escaped := false
	for _, r := range pattern {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '|' || r == '{' || r == '}':
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
