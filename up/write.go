package up

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Names of what `devd up` writes in the project.
const (
	// StateDir is the project subfolder devd writes to.
	StateDir = ".devd"
	// OverrideName is the override file's name in StateDir.
	OverrideName = "compose.devd.yaml"
)

// gitignoreContent ignores everything in StateDir, the .gitignore itself
// included, so the generated files are never committed by accident.
const gitignoreContent = "# Written by devd: nothing in this folder belongs in version control.\n*\n"

// Write writes the override to <projectDir>/.devd/compose.devd.yaml, next
// to a .gitignore that ignores the whole folder, and returns the
// override's path. The file is replaced atomically, so a `docker compose`
// run in parallel reads the old or the new file, never half of one.
func Write(projectDir string, data []byte) (string, error) {
	dir := filepath.Join(projectDir, StateDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := writeFile(filepath.Join(dir, ".gitignore"), []byte(gitignoreContent)); err != nil {
		return "", err
	}
	path := filepath.Join(dir, OverrideName)
	if err := writeFile(path, data); err != nil {
		return "", err
	}
	return path, nil
}

// writeFile replaces a file's content atomically, and leaves a file that
// already has that content untouched.
func writeFile(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
