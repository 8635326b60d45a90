package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTarDigestMatchesHostDigest(t *testing.T) {
	files := map[string]string{
		"message.js":            "module.exports = 'x';\n",
		".dockerignore":         "node_modules\n",
		"gen/d000/f00000.js":    "module.exports = 0;\n",
		"gen/d001/f00001.js":    "module.exports = 1;\n",
		"node_modules/dep/i.js": "ignored\n",
	}
	root := t.TempDir()
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	if err := tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: "app/" + rel, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	want, err := hostDigest(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tarDigest(bytes.NewReader(archive.Bytes()), "app")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("tarDigest = %s, hostDigest = %s", got, want)
	}

	// A changed file changes the digest.
	if err := os.WriteFile(filepath.Join(root, "message.js"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := hostDigest(root)
	if err != nil {
		t.Fatal(err)
	}
	if changed == want {
		t.Errorf("hostDigest did not change after an edit")
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []int
		want int
	}{
		{nil, 0},
		{[]int{3}, 3},
		{[]int{5, 1, 3}, 3},
		{[]int{4, 1, 3, 2}, 2}, // (2+3)/2 in integer nanoseconds
	}
	for _, c := range cases {
		var ds []time.Duration
		for _, v := range c.in {
			ds = append(ds, time.Duration(v))
		}
		if got := median(ds); got != time.Duration(c.want) {
			t.Errorf("median(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestDirectReaderFollowsChanges(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(d *directReader, when string) {
		t.Helper()
		got, err := d.digest()
		if err != nil {
			t.Fatal(err)
		}
		want, err := hostDigest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: direct digest %s, want the host's %s", when, got, want)
		}
	}
	write("a.js", "one")
	write("gen/b.js", "two")
	write("node_modules/x/index.js", "left out")
	d := &directReader{dir: dir, known: map[string]hashed{}}
	check(d, "first read")

	// Same size, rewritten at once: the change time may not move.
	write("a.js", "uno")
	check(d, "after a rewrite of the same size")
	write("a.js", "ein")
	check(d, "after a second rewrite")

	// Files hashed long enough after their change are kept, and still
	// seen to change.
	time.Sleep(2 * settleMargin)
	check(d, "after a pause")
	if _, ok := d.known["gen/b.js"]; !ok {
		t.Error("gen/b.js is hashed again on every read")
	}
	write("gen/b.js", "owt")
	write("gen/c.js", "new")
	if err := os.Remove(filepath.Join(dir, "a.js")); err != nil {
		t.Fatal(err)
	}
	check(d, "after a write, a new file and a delete")

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := d.digest(); !errors.Is(err, errNotMounted) {
		t.Errorf("reading a folder that is gone: %v, want errNotMounted", err)
	}
}
