package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// topFolders is the number of folders at the top of the generated tree.
// The other folders are spread evenly under them.
const topFolders = 40

// tree is a generated source tree.
type tree struct {
	root string
	// probe is a file in the last folder, which the child writes to
	// measure how long a change takes to be reported.
	probe string
}

// generateTree writes the tree under dir/src unless a complete one of the
// same size is there, as a marker file records.
func generateTree(dir string, files, folders, skipped int) (tree, error) {
	root := filepath.Join(dir, "src")
	t := tree{root: root, probe: probePath(root, folders)}
	marker := filepath.Join(dir, fmt.Sprintf(".complete-%d-%d-%d", files, folders, skipped))
	if _, err := os.Stat(marker); err == nil {
		return t, nil
	}
	if err := os.RemoveAll(root); err != nil {
		return t, fmt.Errorf("removing old tree: %w", err)
	}

	dirs := folderPaths(root, folders)
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return t, fmt.Errorf("creating folder: %w", err)
		}
	}
	content := []byte("export const value = 1;\n")
	for i := range files {
		if err := writeFile(filepath.Join(dirs[i%len(dirs)], fmt.Sprintf("file%06d.js", i)), content); err != nil {
			return t, err
		}
	}

	modules := filepath.Join(root, "node_modules")
	const perPackage = 100
	for i := range skipped {
		pkg := filepath.Join(modules, fmt.Sprintf("pkg%04d", i/perPackage))
		if err := writeFile(filepath.Join(pkg, fmt.Sprintf("index%03d.js", i%perPackage)), content); err != nil {
			return t, err
		}
	}

	if err := writeFile(t.probe, content); err != nil {
		return t, err
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return t, fmt.Errorf("writing marker: %w", err)
	}
	return t, nil
}

// folderPaths returns the paths of n folders under root, top folders first.
func folderPaths(root string, n int) []string {
	top := min(topFolders, n)
	var dirs []string
	for i := range top {
		dirs = append(dirs, filepath.Join(root, fmt.Sprintf("pkg%02d", i)))
	}
	for i := range n - top {
		dirs = append(dirs, filepath.Join(dirs[i%top], fmt.Sprintf("mod%03d", i/top)))
	}
	return dirs
}

func probePath(root string, folders int) string {
	dirs := folderPaths(root, folders)
	return filepath.Join(dirs[len(dirs)-1], "probe.js")
}

func writeFile(path string, content []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating folder: %w", err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return fmt.Errorf("writing file: %w", err)
	}
	return nil
}
