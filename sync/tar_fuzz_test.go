//go:build unix

package sync_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	filesync "github.com/devdtool/devd/sync"
)

// fuzzTarDeadline bounds Collect plus WriteTar on one small fuzz tree. Both
// take well under a millisecond there, so reaching it means a hang.
const fuzzTarDeadline = 5 * time.Second

// fuzzTarOwner is the owner every entry must carry.
var fuzzTarOwner = filesync.Owner{UID: 4242, GID: 4343}

// Operations of a FuzzWriteTar script, one byte each, followed by their
// operands.
const (
	fzMkdir   = iota // parent, name, mode
	fzFile           // parent, name, mode, size, content
	fzSymlink        // parent, name, target
	fzFifo           // parent, name
	fzChange         // path index, or a raw relative path when the index is out of range
	fzMutate         // start applying the operations after Collect
	fzSwap           // path index, kind: replace a path with something else
	fzRoot           // path index: the tree's HostRoot
	fzOpCount
)

// FuzzWriteTar builds a small host tree from the fuzz input, plans it with
// Collect, optionally changes the tree between Collect and WriteTar, writes
// the tar stream and reads it back. The tree may contain hostile names,
// setuid files, links that climb out, loops and fifos. Every entry must land
// under ContainerRoot with no setuid, setgid or sticky bit, and every link
// target must stay inside ContainerRoot. No file may carry the content of a
// host file outside HostRoot, and the whole run must finish.
func FuzzWriteTar(f *testing.F) {
	seeds := []struct {
		ctrRoot string
		script  []byte
	}{
		{"/app", []byte{fzMkdir, 0, 3, 's', 'u', 'b', 0o55, fzFile, 1, 1, 'f', 0xff, 4, 'a', 'b', 'c', 'd'}},
		// setuid, setgid and sticky bits on files and folders.
		{"/app", []byte{fzFile, 0, 1, 'x', 0xff, 2, 'h', 'i', fzMkdir, 0, 1, 'd', 0xff}},
		// Links: a loop, a climb out, an absolute target.
		{"/app", []byte{
			fzSymlink, 0, 4, 'l', 'o', 'o', 'p', 1, '.',
			fzSymlink, 0, 2, 'u', 'p', 2, '.', '.',
			fzSymlink, 0, 3, 'a', 'b', 's', 4, '/', 'e', 't', 'c',
			fzSymlink, 0, 3, 'o', 'u', 't', 9, '.', '.', '/', 'o', 'u', 't', 's', 'i', 'd',
		}},
		// A nested link that climbs to the tree's root, with a tree rooted
		// below the temporary folder's top.
		{"/srv/app/", []byte{fzMkdir, 0, 1, 'a', 0o55, fzSymlink, 1, 1, 'r', 5, '.', '.', '/', '.', '.', fzRoot, 1}},
		// A file that grows and one that goes away after Collect.
		{"/app", []byte{fzFile, 0, 1, 'f', 0o44, 1, 'x', fzFile, 0, 1, 'g', 0o44, 1, 'y', fzMutate, fzSwap, 1, 3, fzSwap, 2, 4}},
		// A tree that is a single file, and changes outside the tree.
		{"/app/main", []byte{fzFile, 0, 1, 'm', 0o55, 1, 'x', fzRoot, 1, fzChange, 0xff, 6, '.', '.', '/', 'e', 't', 'c'}},
		// Names the tar format has to stretch for, and odd bytes.
		{"/app", []byte{fzMkdir, 0, 0xfe, 0o55, fzFile, 1, 0xfe, 0o44, 0, fzFile, 0, 3, 'a', '\n', 'b', 0o44, 0, fzFile, 0, 2, 0xff, 0xfe, 0o44, 0}},
		{"/", []byte{fzFile, 0, 1, 'f', 0o44, 0}},
		{"/a/../..", []byte{fzFile, 0, 1, 'f', 0o44, 0}},
		{"//app//./x/", []byte{fzMkdir, 0, 2, '.', '.', 0o55, fzFile, 0, 3, '.', '.', '.', 0o44, 0}},
		{"/app", []byte{fzFifo, 0, 1, 'p', fzChange, 1, fzChange, 0xff, 3, 'g', 'o', 'n'}},
	}
	for _, s := range seeds {
		f.Add(s.ctrRoot, s.script)
	}

	f.Fuzz(func(t *testing.T, ctrRoot string, script []byte) {
		if !strings.HasPrefix(ctrRoot, "/") {
			ctrRoot = "/" + ctrRoot
		}
		b := newFuzzTree(t)
		b.run(script)
		tree := &filesync.Tree{
			HostRoot:      b.hostRoot(),
			ContainerRoot: ctrRoot,
			Skip: func(hostPath string, isDir bool) bool {
				return strings.HasPrefix(filepath.Base(hostPath), "_")
			},
		}
		changes := []filesync.Change{{Tree: tree, HostPath: tree.HostRoot}}
		for _, c := range b.changes {
			changes = append(changes, filesync.Change{Tree: tree, HostPath: filepath.Join(tree.HostRoot, c)})
		}

		var plan filesync.Plan
		b.bounded("Collect", func() { plan, _ = filesync.Collect(changes, nil) })
		b.runMutations()
		var buf bytes.Buffer
		var writeErr error
		b.bounded("WriteTar", func() { writeErr = filesync.WriteTar(&buf, plan.Entries, fuzzTarOwner) })

		for _, e := range plan.Entries {
			if !fuzzHostWithin(tree.HostRoot, e.HostPath) {
				t.Errorf("Collect planned %s, outside HostRoot %s", e.HostPath, tree.HostRoot)
			}
		}
		if errors.Is(writeErr, filesync.ErrOutsideTree) {
			t.Errorf("WriteTar rejected an entry that Collect planned: %v", writeErr)
		}
		fuzzCheckTar(t, buf.Bytes(), path.Clean(ctrRoot), b.secret)
	})
}

// fuzzCheckTar reads a WriteTar stream back and checks every entry.
func fuzzCheckTar(t *testing.T, data []byte, root, secret string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("reading the archive back: %v", err)
		}
		name := hdr.Name
		clean := path.Clean("/" + name)
		switch {
		case name == "" || strings.HasPrefix(name, "/"):
			t.Errorf("entry %q: want a relative name", name)
		case !fuzzWithin(root, clean):
			t.Errorf("entry %q lands at %s, outside %s", name, clean, root)
		case strings.Contains("/"+name+"/", "/../"):
			t.Errorf("entry %q holds a \"..\" segment", name)
		}
		if hdr.Mode&0o7000 != 0 {
			t.Errorf("entry %q has mode %o, with setuid, setgid or sticky bits", name, hdr.Mode)
		}
		if hdr.Uid != fuzzTarOwner.UID || hdr.Gid != fuzzTarOwner.GID {
			t.Errorf("entry %q is owned by %d:%d, want %d:%d", name, hdr.Uid, hdr.Gid, fuzzTarOwner.UID, fuzzTarOwner.GID)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
		case tar.TypeSymlink:
			target := path.Join(path.Dir(clean), hdr.Linkname)
			if hdr.Linkname == "" || path.IsAbs(hdr.Linkname) || !fuzzWithin(root, target) {
				t.Errorf("link %q -> %q resolves to %s, outside %s", name, hdr.Linkname, target, root)
			}
		case tar.TypeReg:
			content, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("reading %q from the archive: %v", name, err)
			}
			if bytes.Contains(content, []byte(secret)) {
				t.Errorf("file %q carries the content of a host file outside the tree", name)
			}
		default:
			t.Errorf("entry %q has type %q, want a folder, a file or a link", name, hdr.Typeflag)
		}
	}
}

// fuzzWithin reports whether the clean slash path p is root or below it.
func fuzzWithin(root, p string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

// fuzzHostWithin reports whether the host path p is root or below it.
func fuzzHostWithin(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// fuzzTree builds a host tree from a script. It creates every path through
// os.Root, in a folder it created itself, with a single-element name, so
// nothing the script says can write outside the temporary folder.
type fuzzTree struct {
	t      *testing.T
	top    string   // the temporary folder: src and outside live in it
	src    string   // top/src, the default HostRoot
	root   *os.Root // opened at src
	secret string   // the content of top/outside/secret

	paths     []string // created paths relative to src; paths[0] is "."
	isDir     []bool
	changes   []string // paths relative to the HostRoot to report as changes
	rootIndex int      // index in paths of the HostRoot
	mutations []byte   // the script after fzMutate
	fifos     []string // absolute paths of fifos, to release blocked readers
}

func newFuzzTree(t *testing.T) *fuzzTree {
	top, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := &fuzzTree{t: t, top: top, src: filepath.Join(top, "src"), paths: []string{"."}, isDir: []bool{true}}
	// Unique to this run, so the fuzzer cannot write it into the tree.
	b.secret = "outside-secret:" + top
	if err := os.MkdirAll(filepath.Join(top, "outside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "outside", "secret"), []byte(b.secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(b.src, 0o755); err != nil {
		t.Fatal(err)
	}
	if b.root, err = os.OpenRoot(b.src); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.root.Close() })
	return b
}

// hostRoot returns the tree's HostRoot: src, or a folder or file in it.
func (b *fuzzTree) hostRoot() string {
	return filepath.Join(b.src, b.paths[b.rootIndex])
}

// reader hands out the bytes of a script, and zeros once it is used up.
type fuzzReader struct {
	data []byte
}

func (r *fuzzReader) more() bool { return len(r.data) > 0 }

func (r *fuzzReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	c := r.data[0]
	r.data = r.data[1:]
	return c
}

// bytes returns a length-prefixed run of bytes. The length 0xfe stands for a
// 300-byte run, longer than most file systems allow for a name.
func (r *fuzzReader) bytes() string {
	n := int(r.byte())
	if n == 0xfe {
		return strings.Repeat("n", 300)
	}
	n = min(n, len(r.data))
	s := string(r.data[:n])
	r.data = r.data[n:]
	return s
}

const (
	fzMaxOps   = 64
	fzMaxPaths = 48
)

func (b *fuzzTree) run(script []byte) {
	r := &fuzzReader{data: script}
	for i := 0; i < fzMaxOps && r.more(); i++ {
		op := r.byte() % fzOpCount
		if op == fzMutate {
			b.mutations = r.data
			return
		}
		b.apply(op, r)
	}
}

func (b *fuzzTree) runMutations() {
	r := &fuzzReader{data: b.mutations}
	for i := 0; i < fzMaxOps && r.more(); i++ {
		op := r.byte() % fzOpCount
		if op == fzMutate || op == fzRoot || op == fzChange {
			continue
		}
		b.apply(op, r)
	}
}

// parent picks a created folder by index, and a name to create in it. ok is
// false when the name is not a single element or is taken.
func (b *fuzzTree) child(r *fuzzReader) (rel string, ok bool) {
	parent := b.paths[int(r.byte())%len(b.paths)]
	name := r.bytes()
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", false
	}
	if len(b.paths) >= fzMaxPaths || !b.dirAt(parent) {
		return "", false
	}
	rel = filepath.Join(parent, name)
	for _, p := range b.paths {
		if p == rel {
			return "", false
		}
	}
	return rel, true
}

func (b *fuzzTree) dirAt(rel string) bool {
	for i, p := range b.paths {
		if p == rel {
			return b.isDir[i]
		}
	}
	return false
}

// mode turns a byte into permission bits plus setuid (0x80), setgid (0x40)
// and sticky (0x20 with 0x01) bits. Owners keep read and write access, so
// that the temporary folder can be removed.
func fuzzMode(c byte, dir bool) fs.FileMode {
	m := fs.FileMode(c&0o77) | 0o600
	if dir {
		m |= 0o100
	}
	if c&0x80 != 0 {
		m |= fs.ModeSetuid
	}
	if c&0x40 != 0 {
		m |= fs.ModeSetgid
	}
	if c&0x21 == 0x21 {
		m |= fs.ModeSticky
	}
	return m
}

func (b *fuzzTree) add(rel string, dir bool) {
	b.paths = append(b.paths, rel)
	b.isDir = append(b.isDir, dir)
}

func (b *fuzzTree) apply(op byte, r *fuzzReader) {
	switch op {
	case fzMkdir:
		rel, ok := b.child(r)
		mode := fuzzMode(r.byte(), true)
		if !ok || b.root.Mkdir(rel, 0o700) != nil {
			return
		}
		b.add(rel, true)
		_ = b.root.Chmod(rel, mode)
	case fzFile:
		rel, ok := b.child(r)
		mode := fuzzMode(r.byte(), false)
		content := r.bytes()
		if !ok || b.root.WriteFile(rel, []byte(content), 0o600) != nil {
			return
		}
		b.add(rel, false)
		_ = b.root.Chmod(rel, mode)
	case fzSymlink:
		rel, ok := b.child(r)
		target := r.bytes()
		if !ok || b.root.Symlink(target, rel) != nil {
			return
		}
		b.add(rel, false)
	case fzFifo:
		rel, ok := b.child(r)
		// The parent is a folder this tree created, and rel one new element
		// in it, so the absolute path does not pass through a link.
		if !ok || syscall.Mkfifo(filepath.Join(b.src, rel), 0o600) != nil {
			return
		}
		b.add(rel, false)
		b.fifos = append(b.fifos, filepath.Join(b.src, rel))
	case fzChange:
		i := int(r.byte())
		if i < len(b.paths) {
			rel, err := filepath.Rel(b.paths[b.rootIndex], b.paths[i])
			if err == nil {
				b.changes = append(b.changes, rel)
			}
			return
		}
		// A raw path, possibly climbing out of the tree.
		b.changes = append(b.changes, r.bytes())
	case fzSwap:
		b.swap(int(r.byte()), r.byte())
	case fzRoot:
		i := int(r.byte()) % len(b.paths)
		if info, err := b.root.Lstat(b.paths[i]); err == nil && (info.IsDir() || info.Mode().IsRegular()) {
			b.rootIndex = i
		}
	}
}

// swap replaces a created path, other than src itself, by kind: 0 a fifo,
// 1 a link to the file outside the tree, 2 a folder, 3 a bigger file,
// 4 nothing, 5 an empty file, 6 a link to the folder outside the tree.
func (b *fuzzTree) swap(i int, kind byte) {
	if i <= 0 || i >= len(b.paths) {
		return
	}
	rel := b.paths[i]
	abs := filepath.Join(b.src, rel)
	if err := b.root.RemoveAll(rel); err != nil {
		return
	}
	b.isDir[i] = false
	switch kind % 7 {
	case 0:
		if syscall.Mkfifo(abs, 0o600) == nil {
			b.fifos = append(b.fifos, abs)
		}
	case 1:
		_ = b.root.Symlink(filepath.Join(b.top, "outside", "secret"), rel)
	case 2:
		if b.root.Mkdir(rel, 0o755) == nil {
			b.isDir[i] = true
		}
	case 3:
		_ = b.root.WriteFile(rel, bytes.Repeat([]byte("grown "), 2000), 0o644)
	case 5:
		_ = b.root.WriteFile(rel, nil, 0o644)
	case 6:
		_ = b.root.Symlink(filepath.Join(b.top, "outside"), rel)
	}
}

// bounded runs fn and fails the test when it does not return within
// fuzzTarDeadline. fn's results may be read only when bounded returns.
func (b *fuzzTree) bounded(what string, fn func()) {
	b.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(fuzzTarDeadline):
		// Release a reader blocked in opening a fifo, so that fn can end.
		b.openFifos()
		b.t.Fatalf("%s did not finish within %s on a tree of %d paths", what, fuzzTarDeadline, len(b.paths))
	}
}

// openFifos opens every fifo for writing without blocking, which releases a
// reader blocked in open.
func (b *fuzzTree) openFifos() {
	for _, p := range b.fifos {
		fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			syscall.Close(fd)
		}
	}
}
