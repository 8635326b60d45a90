package sync

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriteTar(t *testing.T) {
	root := filepath.Join(t.TempDir(), "api")
	mtime := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	makeFile(t, filepath.Join(root, "bin", "tool"), "#!/bin/sh\n", 0o755|os.ModeSetuid|os.ModeSetgid)
	makeFile(t, filepath.Join(root, "new dir", "ünïcode file.txt"), "héllo", 0o640)
	makeFile(t, filepath.Join(root, "empty"), "", 0o644)
	symlink(t, "../empty", filepath.Join(root, "links", "inside"))
	symlink(t, "../../outside", filepath.Join(root, "links", "outside"))
	symlink(t, ".", filepath.Join(root, "links", "loop"))
	if err := os.Chmod(filepath.Join(root, "new dir"), 0o2775|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(root, "empty"), mtime, mtime); err != nil {
		t.Fatal(err)
	}

	tree := &Tree{HostRoot: root, ContainerRoot: "/usr/src/app"}
	entries, _, _, err := collect([]Change{{Tree: tree, HostPath: root}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	owner := Owner{UID: 1000, GID: 1001}
	var buf bytes.Buffer
	if err := WriteTar(&buf, entries, owner); err != nil {
		t.Fatal(err)
	}
	items, order := readTar(t, &buf)

	want := map[string]tarItem{
		"usr/src/app/":                         {Type: tar.TypeDir, Mode: 0o755},
		"usr/src/app/bin/":                     {Type: tar.TypeDir, Mode: 0o755},
		"usr/src/app/bin/tool":                 {Type: tar.TypeReg, Mode: 0o755, Content: "#!/bin/sh\n"},
		"usr/src/app/empty":                    {Type: tar.TypeReg, Mode: 0o644, ModTime: mtime},
		"usr/src/app/links/":                   {Type: tar.TypeDir, Mode: 0o755},
		"usr/src/app/links/inside":             {Type: tar.TypeSymlink, Mode: 0o777, Linkname: "../empty"},
		"usr/src/app/links/loop":               {Type: tar.TypeSymlink, Mode: 0o777, Linkname: "."},
		"usr/src/app/new dir/":                 {Type: tar.TypeDir, Mode: 0o775},
		"usr/src/app/new dir/ünïcode file.txt": {Type: tar.TypeReg, Mode: 0o640, Content: "héllo"},
	}
	if len(items) != len(want) {
		t.Errorf("archive holds %q, want %d entries", order, len(want))
	}
	for name, w := range want {
		got, ok := items[name]
		if !ok {
			t.Errorf("archive lacks %q; has %q", name, order)
			continue
		}
		if got.UID != owner.UID || got.GID != owner.GID {
			t.Errorf("%s: owner %d:%d, want %d:%d", name, got.UID, got.GID, owner.UID, owner.GID)
		}
		if !w.ModTime.IsZero() && !got.ModTime.Equal(w.ModTime) {
			t.Errorf("%s: mtime %v, want %v", name, got.ModTime, w.ModTime)
		}
		got.UID, got.GID, got.ModTime, w.ModTime = 0, 0, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %+v, want %+v", name, got, w)
		}
	}
	seen := map[string]bool{}
	for i, name := range order {
		parent := path.Dir(strings.TrimSuffix(name, "/")) + "/"
		if i > 0 && !seen[parent] {
			t.Errorf("%s comes before its folder %s", name, parent)
		}
		seen[name] = true
	}
}

func TestWriteTarDropsVanishedFiles(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "a.txt"), "a", 0o644)
	makeFile(t, filepath.Join(root, "4913"), "vim probe", 0o644)
	makeFile(t, filepath.Join(root, "z.txt"), "z", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	entries, _, _, err := collect([]Change{{Tree: tree, HostPath: root}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "4913")); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	stats, err := writeTar(&buf, entries, Owner{})
	if err != nil || len(stats.errs) != 0 {
		t.Fatalf("writeTar = %v, %v; want no error for a vanished file", err, stats.errs)
	}
	items, order := readTar(t, &buf)
	if _, ok := items["app/4913"]; ok || items["app/a.txt"].Content != "a" || items["app/z.txt"].Content != "z" {
		t.Errorf("archive holds %q, want a.txt and z.txt without the vanished file", order)
	}
	if stats.entries != 3 || stats.bytes != 2 {
		t.Errorf("stats = %d entries, %d bytes; want 3 entries (folder and two files), 2 bytes", stats.entries, stats.bytes)
	}
}

func TestWriteTarSkipsSlashRoot(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "etc", "app.conf"), "x", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/"}
	entries, _, _, err := collect([]Change{{Tree: tree, HostPath: root}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTar(&buf, entries, Owner{}); err != nil {
		t.Fatal(err)
	}
	_, order := readTar(t, &buf)
	if !reflect.DeepEqual(order, []string{"etc/", "etc/app.conf"}) {
		t.Errorf("archive holds %q, want etc/ and etc/app.conf only", order)
	}
}

// failingWriter fails after limit bytes.
type failingWriter struct{ limit int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errDiskFull
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteTarReportsWriterFailure(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "big"), strings.Repeat("x", 1<<20), 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	entries, _, _, err := collect([]Change{{Tree: tree, HostPath: root}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTar(&failingWriter{limit: 4096}, entries, Owner{}); !errors.Is(err, errDiskFull) {
		t.Errorf("WriteTar = %v, want the writer's error", err)
	}
}

func TestWriteTarRefusesEntriesOutsideTheTree(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "ok.txt"), "ok", 0o644)
	symlink(t, "ok.txt", filepath.Join(root, "link"))
	fileInfo, err := os.Lstat(filepath.Join(root, "ok.txt"))
	if err != nil {
		t.Fatal(err)
	}
	linkInfo, err := os.Lstat(filepath.Join(root, "link"))
	if err != nil {
		t.Fatal(err)
	}
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	file := func(p string) Entry {
		return Entry{Tree: tree, HostPath: filepath.Join(root, "ok.txt"), ContainerPath: p, Info: fileInfo}
	}
	link := func(p, target string) Entry {
		return Entry{Tree: tree, HostPath: filepath.Join(root, "link"), ContainerPath: p, Info: linkInfo, LinkTarget: target}
	}
	entries := []Entry{
		file("/app/ok.txt"),
		file("/app/../etc/passwd"),
		file("/etc/passwd"),
		file("/app-old/x"),
		file("app/relative"),
		file("/app//double"),
		{HostPath: filepath.Join(root, "ok.txt"), ContainerPath: "/app/no-tree", Info: fileInfo},
		link("/app/inside", "ok.txt"),
		link("/app/up", "../etc/passwd"),
		link("/app/abs", "/etc/passwd"),
		link("/app/sub/deep", "../../x"),
	}

	var buf bytes.Buffer
	stats, err := writeTar(&buf, entries, Owner{})
	if err != nil {
		t.Fatal(err)
	}
	_, order := readTar(t, &buf)
	if !reflect.DeepEqual(order, []string{"app/ok.txt", "app/inside"}) {
		t.Errorf("archive holds %q, want only the entries inside /app", order)
	}
	if len(stats.errs) != len(entries)-2 {
		t.Errorf("%d refusals, want %d: %v", len(stats.errs), len(entries)-2, stats.errs)
	}
	for _, err := range stats.errs {
		if !errors.Is(err, ErrOutsideTree) {
			t.Errorf("refusal %v does not wrap ErrOutsideTree", err)
		}
	}
}

func TestWriteTarSkipsFilesReplacedSincePlanning(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "api")
	makeFile(t, filepath.Join(root, "d", "secret"), "planned", 0o644)
	makeFile(t, filepath.Join(root, "f"), "planned", 0o644)
	makeFile(t, filepath.Join(base, "outside", "secret"), "outside the tree", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	entries, _, _, err := collect([]Change{{Tree: tree, HostPath: root}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The folder becomes a link to outside, the file a fifo.
	if err := os.RemoveAll(filepath.Join(root, "d")); err != nil {
		t.Fatal(err)
	}
	symlink(t, "../outside", filepath.Join(root, "d"))
	if err := os.Remove(filepath.Join(root, "f")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "f"), 0o644); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	var buf bytes.Buffer
	go func() { done <- WriteTar(&buf, entries, Owner{}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WriteTar: %v, want the replaced files left out silently", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WriteTar blocked on a fifo")
	}
	items, order := readTar(t, &buf)
	for name, it := range items {
		if it.Content != "" {
			t.Errorf("archive has %s with %q, want no file content", name, it.Content)
		}
	}
	if !reflect.DeepEqual(order, []string{"app/", "app/d/"}) {
		t.Errorf("archive holds %q, want the folders only", order)
	}
}
