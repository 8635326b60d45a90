package sync_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/devdtool/devd/engine"
	filesync "github.com/devdtool/devd/sync"
)

// localFiles plays the container with a local folder, through the same
// functions that devd's supervisor serves in a container.
type localFiles struct{ roots []string }

func (l localFiles) CopyToContainer(_ context.Context, _, dstDir string, content io.Reader) error {
	if dstDir != "/" {
		return fmt.Errorf("extracting at %s: only / is supported", dstDir)
	}
	_, err := filesync.Extract(content, l.roots)
	return err
}

func (l localFiles) Exec(context.Context, string, []string, engine.ExecOptions) (engine.ExecResult, error) {
	return engine.ExecResult{}, errors.New("local files run no commands")
}

func (l localFiles) StatPath(_ context.Context, _, p string) (engine.PathStat, error) {
	return filesync.StatLocal(l.roots[0], p)
}

func (l localFiles) CopyFromContainer(_ context.Context, _, p string) (io.ReadCloser, error) {
	if _, err := filesync.StatLocal(l.roots[0], p); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(filesync.ArchiveLocal(pw, l.roots[0], p)) }()
	return pr, nil
}

func (l localFiles) RemovePaths(_ context.Context, _, _ string, paths []string) error {
	return filesync.RemoveLocal(l.roots[0], paths)
}

var (
	_ filesync.Reconciler = localFiles{}
	_ filesync.Stater     = localFiles{}
	_ filesync.Remover    = localFiles{}
)

// localOwner is the owner that local tests can give files: another user
// when they run as root, their own otherwise.
func localOwner() filesync.Owner {
	if os.Geteuid() == 0 {
		return filesync.Owner{UID: 1000, GID: 1000}
	}
	return filesync.Owner{UID: os.Getuid(), GID: os.Getgid()}
}

// TestConvergenceLocal runs the random operations of TestConvergence
// against the supervisor's file functions on a local folder.
func TestConvergenceLocal(t *testing.T) {
	seeds := convergenceSeeds()
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("replay with: go test ./sync/ -run '^TestConvergenceLocal$/^%d$' -sync.seed %d -v", seed, seed)
				}
			}()
			croot := filepath.Join(t.TempDir(), "ctr", "app")
			local := localFiles{roots: []string{croot}}
			runConvergenceWith(t, local, local, "local", croot, localOwner(), seed)
		})
	}
}

// tarOf builds a tar stream from headers; a regular file's content is its
// Linkname field's text, for brevity.
func tarOf(t *testing.T, hdrs ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		content := ""
		if h.Typeflag == tar.TypeReg {
			content, h.Linkname = h.Linkname, ""
			h.Size = int64(len(content))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func relName(p string) string { return strings.TrimPrefix(p, "/") }

func TestExtractStaysInRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "app")
	outside := filepath.Join(base, "etc")
	makeDir(t, root)
	makeDir(t, outside)
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}

	_, err := filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(outside, "passwd")), Mode: 0o644, Linkname: "x"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, "escape", "passwd")), Mode: 0o644, Linkname: "x"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(root) + "/../etc/passwd", Mode: 0o644, Linkname: "x"},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: relName(filepath.Join(root, "up")), Linkname: "../etc"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, "ok.js")), Mode: 0o644, Linkname: "kept"},
	), []string{root})
	if err == nil {
		t.Fatal("Extract accepted entries outside the root")
	}
	if !errors.Is(err, filesync.ErrOutsideTree) {
		t.Errorf("error %v does not wrap ErrOutsideTree", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("Extract wrote outside the root: %v", entries)
	}
	if _, err := os.Lstat(filepath.Join(root, "up")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a link leaving the root was created: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "ok.js")); err != nil || string(data) != "kept" {
		t.Errorf("the valid entry was not written: %q, %v", data, err)
	}
}

func TestExtractRejectsLinkedRoot(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	makeDir(t, real)
	root := filepath.Join(base, "app")
	if err := os.Symlink(real, root); err != nil {
		t.Fatal(err)
	}
	_, err := filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, "a.js")), Mode: 0o644, Linkname: "x"},
	), []string{root})
	if err == nil {
		t.Fatal("Extract wrote through a root that is a link")
	}
	if entries, _ := os.ReadDir(real); len(entries) != 0 {
		t.Errorf("Extract wrote into the link's target: %v", entries)
	}
}

func TestExtractReplacesTypes(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "app")
	write(t, filepath.Join(root, "was-dir", "inner.js"), "old", 0o644)
	write(t, filepath.Join(root, "was-file"), "old", 0o644)
	write(t, filepath.Join(base, "target.txt"), "must stay", 0o644)
	if err := os.Symlink(filepath.Join(base, "target.txt"), filepath.Join(root, "was-link")); err != nil {
		t.Fatal(err)
	}

	if err := os.Symlink(filepath.Join(base, "not-yet.txt"), filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}

	owner := localOwner()
	if _, err := filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, "dangling")), Mode: 0o644, Linkname: "file now"},
	), []string{root}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(base, "not-yet.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("writing over a dangling link created its target: %v", err)
	}
	if info, err := os.Lstat(filepath.Join(root, "dangling")); err != nil || !info.Mode().IsRegular() {
		t.Errorf("dangling = %v, %v; want a file in place of the link", info, err)
	}

	stats, err := filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, "was-dir")), Mode: 0o640, Linkname: "now a file", Uid: owner.UID, Gid: owner.GID},
		&tar.Header{Typeflag: tar.TypeDir, Name: relName(filepath.Join(root, "was-file")) + "/", Mode: 0o750, Uid: owner.UID, Gid: owner.GID},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, "was-link")), Mode: 0o600, Linkname: "new", Uid: owner.UID, Gid: owner.GID},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: relName(filepath.Join(root, "new", "link")), Linkname: "../was-dir", Uid: owner.UID, Gid: owner.GID},
	), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Entries != 4 || stats.Bytes != int64(len("now a file")+len("new")) {
		t.Errorf("stats = %+v, want 4 entries and 13 bytes", stats)
	}

	if info, err := os.Lstat(filepath.Join(root, "was-dir")); err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o640 {
		t.Errorf("was-dir = %v, %v; want a file of mode 0640", info, err)
	}
	if info, err := os.Lstat(filepath.Join(root, "was-file")); err != nil || !info.IsDir() || info.Mode().Perm() != 0o750 {
		t.Errorf("was-file = %v, %v; want a folder of mode 0750", info, err)
	}
	if info, err := os.Lstat(filepath.Join(root, "was-link")); err != nil || !info.Mode().IsRegular() {
		t.Errorf("was-link = %v, %v; want a file in place of the link", info, err)
	}
	if data, _ := os.ReadFile(filepath.Join(base, "target.txt")); string(data) != "must stay" {
		t.Errorf("the old link's target was written: %q", data)
	}
	if link, err := os.Readlink(filepath.Join(root, "new", "link")); err != nil || link != "../was-dir" {
		t.Errorf("new/link -> %q, %v; want ../was-dir", link, err)
	}
	for _, rel := range []string{"was-dir", "was-file", "was-link", "new/link"} {
		uid, gid := ownerOf(t, filepath.Join(root, rel))
		if uid != owner.UID || gid != owner.GID {
			t.Errorf("%s is owned by %d:%d, want %d:%d", rel, uid, gid, owner.UID, owner.GID)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(root, ".devd-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestStatLocal(t *testing.T) {
	base := t.TempDir()
	write(t, filepath.Join(base, "dir", "f.txt"), "abc", 0o640)
	write(t, filepath.Join(base, "outside", "secret"), "s", 0o600)
	for target, name := range map[string]string{"dir": "link", "../outside": "escape", "/": "abs"} {
		if err := os.Symlink(target, filepath.Join(base, "dir", name)); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(base, "dir")

	st, err := filesync.StatLocal(root, filepath.Join(root, "f.txt"))
	if err != nil || st.Name != "f.txt" || st.Size != 3 || st.Mode != 0o640 {
		t.Errorf("file stat = %+v, %v", st, err)
	}
	st, err = filesync.StatLocal(root, filepath.Join(root, "escape"))
	if err != nil || st.Mode&fs.ModeSymlink == 0 || st.LinkTarget != "../outside" {
		t.Errorf("link stat = %+v, %v; want the link itself and its text", st, err)
	}
	for _, p := range []string{root + "/escape/secret", root + "/escape/", root + "/abs/etc", root + "/missing"} {
		if _, err := filesync.StatLocal(root, p); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("stat of %s: %v, want ErrNotFound", p, err)
		}
	}
	if _, err := filesync.StatLocal(root, "/etc/passwd"); !errors.Is(err, filesync.ErrOutsideTree) {
		t.Errorf("stat outside the root: %v, want ErrOutsideTree", err)
	}
}

func TestArchiveLocal(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "app")
	write(t, filepath.Join(root, "src", "a.js"), "aaa", 0o644)
	write(t, filepath.Join(base, "outside", "secret"), "secret", 0o600)
	if err := os.Symlink("src/a.js", filepath.Join(root, "main.js")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := filesync.ArchiveLocal(&buf, root, root); err != nil {
		t.Fatal(err)
	}
	names := map[string]byte{}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name] = hdr.Typeflag
		if hdr.Name == "app/src/a.js" {
			if data, _ := io.ReadAll(tr); string(data) != "aaa" {
				t.Errorf("a.js content = %q", data)
			}
		}
	}
	want := map[string]byte{"app/": tar.TypeDir, "app/src/": tar.TypeDir, "app/src/a.js": tar.TypeReg,
		"app/main.js": tar.TypeSymlink, "app/escape": tar.TypeSymlink}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("archive entries = %v, want %v", names, want)
	}
	for _, p := range []string{filepath.Join(root, "missing"), filepath.Join(root, "escape") + "/", filepath.Join(root, "escape", "secret")} {
		var out bytes.Buffer
		if err := filesync.ArchiveLocal(&out, root, p); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("archive of %s: %v, want ErrNotFound", p, err)
		}
		if strings.Contains(out.String(), "secret") {
			t.Errorf("archive of %s read outside the root", p)
		}
	}
}

func TestRemoveLocal(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "app")
	write(t, filepath.Join(root, "dir", "f.js"), "f", 0o644)
	write(t, filepath.Join(base, "victim"), "keep", 0o644)
	if err := os.Symlink(base, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}

	err := filesync.RemoveLocal(root, []string{
		filepath.Join(root, "dir"),
		filepath.Join(root, "escape", "victim"),
		filepath.Join(root, "never-there"),
	})
	if err != nil {
		t.Fatalf("RemoveLocal: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "dir")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dir still there: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(base, "victim")); string(data) != "keep" {
		t.Error("a file outside the root was removed through a link")
	}
	if err := filesync.RemoveLocal(root, []string{root}); !errors.Is(err, filesync.ErrOutsideTree) {
		t.Errorf("removing the root: %v, want ErrOutsideTree", err)
	}
}

func makeDir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

// ownerOf returns the uid and gid of p, not following a final link.
func ownerOf(t *testing.T, p string) (int, int) {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("no owner for %s", p)
	}
	return int(st.Uid), int(st.Gid)
}

func TestExtractFileRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "app", "server")
	write(t, filepath.Join(base, "app", "other"), "keep", 0o644)

	owner := localOwner()
	_, err := filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(root), Mode: 0o755, Linkname: "binary", Uid: owner.UID, Gid: owner.GID},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(base, "app", "other")), Mode: 0o644, Linkname: "changed"},
	), []string{root})
	if data, err := os.ReadFile(root); err != nil || string(data) != "binary" {
		t.Errorf("the file root = %q, %v; want it written", data, err)
	}
	if !errors.Is(err, filesync.ErrOutsideTree) {
		t.Errorf("a sibling of a file root: error %v, want ErrOutsideTree", err)
	}
	if data, _ := os.ReadFile(filepath.Join(base, "app", "other")); string(data) != "keep" {
		t.Errorf("a sibling of the file root was written: %q", data)
	}
}

func TestExtractDropsSpecialBits(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	_, err := filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, "suid")), Mode: 0o4755, Linkname: "x"},
		&tar.Header{Typeflag: tar.TypeDir, Name: relName(filepath.Join(root, "shared")) + "/", Mode: 0o3777},
	), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{"suid": 0o755, "shared": fs.ModeDir | 0o777} {
		info, err := os.Lstat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != want {
			t.Errorf("%s has mode %v, want %v", name, info.Mode(), want)
		}
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

func TestExtractWritesFileInPlace(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	name := filepath.Join(root, "server.js")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte("an older and longer content"), 0o2664); err != nil {
		t.Fatal(err)
	}
	before := inode(t, name)
	_, err := filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(name), Mode: 0o640, Linkname: "new"},
	), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	if got := inode(t, name); got != before {
		t.Errorf("server.js has inode %d after the copy, want %d: a watcher that follows it would lose it", got, before)
	}
	checkFile(t, name, "new", 0o640)
}

func TestExtractReplacesLinkedBusyFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	// A file with a second link: writing in place would change both.
	linked := filepath.Join(root, "linked.js")
	if err := os.WriteFile(linked, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "other.js")
	if err := os.Link(linked, other); err != nil {
		t.Fatal(err)
	}
	// A running program cannot be opened for writing.
	program := filepath.Join(root, "sleep")
	data, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip("no /bin/sleep to run:", err)
	}
	if err := os.WriteFile(program, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(program, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	// A named pipe without a reader would block an open for writing.
	pipe := filepath.Join(root, "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = filesync.Extract(tarOf(t,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(linked), Mode: 0o644, Linkname: "new linked"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(pipe), Mode: 0o644, Linkname: "new pipe"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(program), Mode: 0o755, Linkname: "new program"},
	), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, linked, "new linked", 0o644)
	checkFile(t, other, "old", 0o644)
	checkFile(t, pipe, "new pipe", 0o644)
	checkFile(t, program, "new program", 0o755)
}

func TestExtractKeepsLastRepeatedEntry(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	small := filepath.Join(root, "a", "small.js")
	large := filepath.Join(root, "b", "large.bin")
	big := strings.Repeat("x", 100<<10)
	hdrs := []*tar.Header{
		{Typeflag: tar.TypeDir, Name: relName(filepath.Join(root, "a")) + "/", Mode: 0o755},
		{Typeflag: tar.TypeDir, Name: relName(filepath.Join(root, "b")) + "/", Mode: 0o755},
	}

	// Files spread over folders, so that several writers work.
	for i := range 40 {
		hdrs = append(hdrs, &tar.Header{Typeflag: tar.TypeReg, Name: relName(filepath.Join(root, fmt.Sprintf("f%d", i%7), fmt.Sprintf("%d.js", i))), Mode: 0o644, Linkname: fmt.Sprint(i)})
	}
	hdrs = append(hdrs,
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(small), Mode: 0o644, Linkname: "first"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(large), Mode: 0o644, Linkname: "small first"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(small), Mode: 0o600, Linkname: "second"},
		&tar.Header{Typeflag: tar.TypeReg, Name: relName(large), Mode: 0o644, Linkname: big},
	)

	st, err := filesync.Extract(tarOf(t, hdrs...), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != len(hdrs) {
		t.Errorf("extracted %d entries, want %d", st.Entries, len(hdrs))
	}

	checkFile(t, small, "second", 0o600)
	checkFile(t, large, big, 0o644)
	for i := range 40 {
		checkFile(t, filepath.Join(root, fmt.Sprintf("f%d", i%7), fmt.Sprintf("%d.js", i)), fmt.Sprint(i), 0o644)
	}
}

func checkFile(t *testing.T, p, content string, mode fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != content {
		t.Errorf("%s holds %.40q, want %.40q", filepath.Base(p), got, content)
	}
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != mode {
		t.Errorf("%s has mode %v, want %v", filepath.Base(p), info.Mode(), mode)
	}
}

func TestExtractReplacesProgramsScriptsLibraries(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name    string
		oldMode fs.FileMode
		newMode fs.FileMode
		inPlace bool
	}{
		{"server.js", 0o644, 0o644, true},
		{"run.sh", 0o755, 0o755, false},
		{"made-executable.sh", 0o644, 0o755, false},
		{"no-longer-executable.sh", 0o755, 0o644, false},
		{"addon.node", 0o644, 0o644, false},
		{"libx.so", 0o644, 0o644, false},
		{"libx.so.1", 0o644, 0o644, false},
		{"libx.dylib", 0o644, 0o644, false},
		{"node.json", 0o644, 0o644, true},
		{"task.sh", 0o644, 0o644, false},
		{"shebang", 0o644, 0o644, false},
	}
	var hdrs []*tar.Header
	before := map[string]uint64{}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		old := "old"
		if f.name == "shebang" {
			// Run as sh shebang, without an execute bit.
			old = "#!/bin/sh\necho old\n"
		}
		if err := os.WriteFile(p, []byte(old), f.oldMode); err != nil {
			t.Fatal(err)
		}
		before[f.name] = inode(t, p)
		hdrs = append(hdrs, &tar.Header{Typeflag: tar.TypeReg, Name: relName(p), Mode: int64(f.newMode), Linkname: "new " + f.name})
	}

	if _, err := filesync.Extract(tarOf(t, hdrs...), []string{root}); err != nil {
		t.Fatal(err)
	}

	for _, f := range files {
		p := filepath.Join(root, f.name)
		checkFile(t, p, "new "+f.name, f.newMode)
		if inPlace := inode(t, p) == before[f.name]; inPlace != f.inPlace {
			t.Errorf("%s written in place: %v, want %v", f.name, inPlace, f.inPlace)
		}
	}
}
