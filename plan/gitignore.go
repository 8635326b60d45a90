package plan

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
// A leading slash anchors a .gitignore pattern and is dropped.
func gitignoreToDockerignore(line string) (string, bool) {
	line = strings.TrimRight(line, " \t\r")
	if line == "" || strings.HasPrefix(line, "#") {
		return "", false
	}
	negate := strings.HasPrefix(line, "!")
	line = strings.TrimPrefix(line, "!")
	line = strings.TrimPrefix(line, `\`)

	body := strings.TrimSuffix(line, "/")
	switch {
	case strings.HasPrefix(body, "/"):
		line = strings.TrimPrefix(line, "/")
	case !strings.Contains(body, "/") && !strings.HasPrefix(body, "**"):
		line = "**/" + line
	}
	if negate {
		line = "!" + line
	}
	return line, true
}
