package sync_test

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"

	filesync "github.com/devdtool/devd/sync"
)

// FuzzContainerPath checks the one function that maps host paths into a
// container: whatever the host path contains (dot segments, repeated slashes,
// newlines, NUL, invalid UTF-8, long names), a mapped path is ContainerRoot
// or below it and free of ".." segments, and a path outside HostRoot is
// always refused.
func FuzzContainerPath(f *testing.F) {
	seeds := []struct{ hostRoot, ctrRoot, hostPath string }{
		{"/src", "/app", "/src/main.go"},
		{"/src", "/app", "/src"},
		{"/src", "/app", "/src/"},
		{"/src", "/app", "/src/../etc/passwd"},
		{"/src", "/app", "/src/a/../../src/b"},
		{"/src", "/app", "/src2/x"},
		{"/src", "/app", "/sr"},
		{"/src", "/app", "src/x"},
		{"/src", "/app", "/src//a///b"},
		{"/src", "/app", "/src/./a/./b/."},
		{"/src", "/app", "/src/..data/x"},
		{"/src", "/app", "/src/a\nb"},
		{"/src", "/app", "/src/a\x00b"},
		{"/src", "/app", "/src/\xff\xfe"},
		{"/src", "/app", "/src/" + strings.Repeat("n", 300) + "/" + strings.Repeat("m", 700)},
		{"/", "/app", "/etc/passwd"},
		{"/src", "/", "/src/etc/passwd"},
		{"/src", "/app/../..", "/src/x"},
		{"/src", "/app/", "/src/x"},
		{"/src/", "//app//", "/src/x"},
		{"relative", "/app", "/relative/x"},
		{"/src", "app", "/src/x"},
		{"/src", "/app", "/src/.."},
		{"/src", "/app", "/src/..."},
	}
	for _, s := range seeds {
		f.Add(s.hostRoot, s.ctrRoot, s.hostPath)
	}

	f.Fuzz(func(t *testing.T, hostRoot, ctrRoot, hostPath string) {
		tree := filesync.Tree{HostRoot: hostRoot, ContainerRoot: ctrRoot}
		got, err := tree.ContainerPath(hostPath)

		validRoots := filepath.IsAbs(hostRoot) && path.IsAbs(ctrRoot)
		cleanRoot := filepath.Clean(hostRoot)
		cleanHost := filepath.Clean(hostPath)
		inside := filepath.IsAbs(hostPath) &&
			(cleanHost == cleanRoot || strings.HasPrefix(cleanHost, strings.TrimSuffix(cleanRoot, "/")+"/"))

		if err != nil {
			if validRoots && inside {
				t.Fatalf("ContainerPath(%q) under HostRoot %q = error %v, want a path under %q", hostPath, hostRoot, err, ctrRoot)
			}
			if validRoots && !errors.Is(err, filesync.ErrOutsideTree) {
				t.Fatalf("ContainerPath(%q) = error %v, which does not wrap ErrOutsideTree", hostPath, err)
			}
			return
		}

		if !validRoots {
			t.Fatalf("ContainerPath(%q) with roots %q and %q = %q, want an error for a relative root", hostPath, hostRoot, ctrRoot, got)
		}
		if !inside {
			t.Fatalf("ContainerPath(%q) outside HostRoot %q = %q, want an error", hostPath, hostRoot, got)
		}
		root := path.Clean(ctrRoot)
		cleaned := path.Clean(got)
		if cleaned != root && !strings.HasPrefix(cleaned, strings.TrimSuffix(root, "/")+"/") {
			t.Fatalf("ContainerPath(%q) = %q, which is not under ContainerRoot %q", hostPath, got, root)
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == ".." {
				t.Fatalf("ContainerPath(%q) = %q, which contains a \"..\" segment", hostPath, got)
			}
		}
		if want := path.Join(root, strings.TrimPrefix(cleanHost, cleanRoot)); got != want {
			t.Fatalf("ContainerPath(%q) with roots %q and %q = %q, want %q", hostPath, hostRoot, ctrRoot, got, want)
		}
	})
}
