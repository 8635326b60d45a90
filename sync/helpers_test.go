package sync

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tarItem is one entry read back from an archive.
type tarItem struct {
	Type     byte
	Mode     int64
	UID, GID int
	Linkname string
	Content  string
	ModTime  time.Time
}

// readTar reads a whole archive into items keyed by entry name, keeping the
// order of names.
func readTar(t *testing.T, r io.Reader) (map[string]tarItem, []string) {
	t.Helper()
	items := map[string]tarItem{}
	var order []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return items, order
		}
		if err != nil {
			t.Fatalf("reading archive: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s from archive: %v", hdr.Name, err)
		}
		items[hdr.Name] = tarItem{Type: hdr.Typeflag, Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid,
			Linkname: hdr.Linkname, Content: string(data), ModTime: hdr.ModTime}
		order = append(order, hdr.Name)
	}
}

// readTarBytes is readTar of an archive in memory.
func readTarBytes(t *testing.T, data []byte) (map[string]tarItem, []string) {
	t.Helper()
	return readTar(t, bytes.NewReader(data))
}

// readTarStream reads an archive to its end and returns its entry names,
// stopping at the first error.
func readTarStream(r io.Reader) (names []string, err error) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return names, err
		}
		names = append(names, hdr.Name)
	}
}

// makeFile creates a file and its parent folders.
func makeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// skipNodeModules ignores every folder named node_modules.
func skipNodeModules(hostPath string, isDir bool) bool {
	return isDir && filepath.Base(hostPath) == "node_modules"
}
