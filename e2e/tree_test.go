package e2e

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// treeEntry describes one path of a tree: its kind, content hash or link
// target, and permission bits.
type treeEntry struct {
	Kind string // "file", "dir" or "link"
	Hash string // sha256 of a file's content, or a link's target
	Mode fs.FileMode
}

func (e treeEntry) String() string {
	return fmt.Sprintf("%s %s %o", e.Kind, e.Hash, e.Mode)
}

// hostTree reads a host folder, leaving out folders named in skip.
func hostTree(t *testing.T, root string, skip ...string) map[string]treeEntry {
	t.Helper()
	tree := make(map[string]treeEntry)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			tree[rel] = treeEntry{Kind: "dir", Mode: info.Mode().Perm()}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			tree[rel] = treeEntry{Kind: "link", Hash: target}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			tree[rel] = treeEntry{Kind: "file", Hash: hex.EncodeToString(sum[:]), Mode: info.Mode().Perm()}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading host tree %s: %v", root, err)
	}
	return tree
}

// containerTree reads a folder of a container through the Engine archive
// API (`docker cp CONTAINER:DIR -`), which needs no tool in the image.
func containerTree(t *testing.T, containerID, dir string, skip ...string) (map[string]treeEntry, error) {
	t.Helper()
	cmd := exec.Command("docker", "cp", containerID+":"+dir, "-")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Wait() }()

	tree := make(map[string]treeEntry)
	base := path.Base(dir)
	tr := tar.NewReader(stdout)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading archive of %s: %v (%s)", dir, err, stderr.String())
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		rel := strings.TrimPrefix(strings.TrimPrefix(name, base), "/")
		if rel == "" {
			continue
		}
		skipped := false
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				skipped = true
			}
		}
		if skipped {
			continue
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			tree[rel] = treeEntry{Kind: "dir", Mode: mode}
		case tar.TypeSymlink:
			tree[rel] = treeEntry{Kind: "link", Hash: hdr.Linkname}
		case tar.TypeReg:
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				return nil, err
			}
			tree[rel] = treeEntry{Kind: "file", Hash: hex.EncodeToString(h.Sum(nil)), Mode: mode}
		}
	}
	return tree, nil
}

// diffTrees lists the differences between two trees, one line each.
func diffTrees(want, got map[string]treeEntry) []string {
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, "missing in container: "+p)
		case w != g:
			diffs = append(diffs, fmt.Sprintf("differs: %s: host %v, container %v", p, w, g))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, "only in container: "+p)
		}
	}
	sort.Strings(diffs)
	return diffs
}

// waitConverged waits until the container folder equals the host folder.
func waitConverged(t *testing.T, hostRoot, containerID, containerDir string, skip ...string) {
	t.Helper()
	var last []string
	deadline := time.Now().Add(changeTimeout)
	for time.Now().Before(deadline) {
		last = compareTrees(t, hostRoot, containerID, containerDir, skip...)
		if len(last) == 0 {
			return
		}
		time.Sleep(pollInterval)
	}
	t.Fatalf("container tree %s still differs from %s after %s:\n%s", containerDir, hostRoot, changeTimeout, strings.Join(last, "\n"))
}

// compareTrees returns the differences between a host folder and a
// container folder, ignoring folder modes: folders created by the engine
// get 0755.
func compareTrees(t *testing.T, hostRoot, containerID, containerDir string, skip ...string) []string {
	t.Helper()
	want := hostTree(t, hostRoot, skip...)
	got, err := containerTree(t, containerID, containerDir, skip...)
	if err != nil {
		return []string{err.Error()}
	}
	for _, tree := range []map[string]treeEntry{want, got} {
		for p, e := range tree {
			if e.Kind == "dir" {
				e.Mode = 0
				tree[p] = e
			}
		}
	}
	return diffTrees(want, got)
}
