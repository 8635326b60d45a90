package sync

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine"
)

// fakeCopier records calls and returns the configured results.
type fakeCopier struct {
	archives [][]byte
	dstDirs  []string
	execs    [][]string
	users    []string

	copyErr  error
	execErr  error
	execCode int
	execOut  string
}

func (f *fakeCopier) CopyToContainer(_ context.Context, _, dstDir string, content io.Reader) error {
	if f.copyErr != nil {
		return f.copyErr
	}
	data, err := io.ReadAll(content)
	if err != nil {
		return err
	}
	f.archives = append(f.archives, data)
	f.dstDirs = append(f.dstDirs, dstDir)
	return nil
}

func (f *fakeCopier) Exec(_ context.Context, _ string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error) {
	f.execs = append(f.execs, cmd)
	f.users = append(f.users, opts.User)
	return engine.ExecResult{ExitCode: f.execCode, Output: []byte(f.execOut)}, f.execErr
}

func TestApplyCopiesThenDeletes(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "src", "a.js"), "a", 0o644)
	makeFile(t, filepath.Join(root, "src", "b.js"), "bb", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	changes := []Change{
		{Tree: tree, HostPath: filepath.Join(root, "src", "a.js")},
		{Tree: tree, HostPath: filepath.Join(root, "src", "b.js")},
		{Tree: tree, HostPath: filepath.Join(root, "old.js")},
		{Tree: tree, HostPath: filepath.Join(root, "old dir")},
	}
	fake := &fakeCopier{}

	res, err := Apply(context.Background(), fake, "c1", changes, Owner{UID: 1000, GID: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.archives) != 1 || fake.dstDirs[0] != "/" {
		t.Fatalf("copies = %d to %q, want one archive to /", len(fake.archives), fake.dstDirs)
	}
	items, order := readTar(t, bytes.NewReader(fake.archives[0]))
	if !reflect.DeepEqual(order, []string{"app/src/", "app/src/a.js", "app/src/b.js"}) || items["app/src/b.js"].Content != "bb" {
		t.Errorf("archive holds %q", order)
	}
	wantExec := [][]string{{"rm", "-rf", "--", "/app/old dir", "/app/old.js"}}
	if !reflect.DeepEqual(fake.execs, wantExec) || fake.users[0] != "0" {
		t.Errorf("execs = %q as %q, want %q as root", fake.execs, fake.users, wantExec)
	}
	if res.Copied != 3 || res.Deleted != 2 || res.Bytes != 3 {
		t.Errorf("result = %+v, want 3 copied, 2 deleted, 3 bytes", res)
	}
}

func TestApplyKeepsCopiesWhenDeletesFail(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "a.js"), "a", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	changes := []Change{
		{Tree: tree, HostPath: filepath.Join(root, "a.js")},
		{Tree: tree, HostPath: filepath.Join(root, "gone.js")},
	}

	fake := &fakeCopier{execCode: 127, execOut: `exec: "rm": executable file not found in $PATH`}
	res, err := Apply(context.Background(), fake, "c1", changes, Owner{}, nil)
	if err == nil || !strings.Contains(err.Error(), "no rm command") {
		t.Errorf("Apply error = %v, want one saying rm is missing", err)
	}
	if len(fake.archives) != 1 || res.Copied != 1 || res.Deleted != 0 {
		t.Errorf("result = %+v with %d archives, want the copy done and no delete", res, len(fake.archives))
	}

	fake = &fakeCopier{execErr: engine.ErrNotRunning}
	if _, err := Apply(context.Background(), fake, "c1", changes, Owner{}, nil); !errors.Is(err, engine.ErrNotRunning) ||
		!strings.Contains(err.Error(), "running container") {
		t.Errorf("Apply on a stopped container = %v, want ErrNotRunning with a hint", err)
	}
}

func TestApplyReportsCopyFailure(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "a.js"), "a", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	errRejected := errors.New("archive rejected")
	fake := &fakeCopier{copyErr: errRejected}

	res, err := Apply(context.Background(), fake, "c1", []Change{{Tree: tree, HostPath: filepath.Join(root, "a.js")}}, Owner{}, nil)
	if !errors.Is(err, errRejected) || res.Copied != 0 {
		t.Errorf("Apply = %+v, %v; want the copy error and nothing counted", res, err)
	}
}

func TestApplyNothingToDo(t *testing.T) {
	fake := &fakeCopier{}
	res, err := Apply(context.Background(), fake, "c1", nil, Owner{}, nil)
	if err != nil {
		t.Errorf("Apply of no changes: %v", err)
	}
	if len(fake.archives) != 0 || len(fake.execs) != 0 {
		t.Errorf("Apply of no changes made %d copies and %d execs, want none", len(fake.archives), len(fake.execs))
	}
	if res.Copied != 0 || res.Deleted != 0 {
		t.Errorf("Apply of no changes = %+v, want zero counts", res)
	}
}

func TestChunkPaths(t *testing.T) {
	paths := []string{"/a/1", "/a/2", "/a/3", "/a/very-long-path"}
	got := chunkPaths(paths, 10)
	want := [][]string{{"/a/1", "/a/2"}, {"/a/3"}, {"/a/very-long-path"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunkPaths = %q, want %q", got, want)
	}
}

func TestDropIgnoredDeletes(t *testing.T) {
	loop := errors.New("Error response from daemon: too many links")
	c := &statCopier{
		paths: map[string]fs.FileMode{
			"/app": folder, "/app/dir": folder, "/app/link": folder, "/app/file": folder,
			"/app/dir/node_modules":  folder,
			"/app/link/node_modules": fs.ModeSymlink | 0o777,
			"/app/file/x.tmp":        0o644,
			"/app/dir/x.tmp":         folder,
		},
		errs: map[string]error{
			"/app/loop/node_modules": loop,
			"/app/loop/x.tmp":        loop,
		},
	}
	deletes := []Delete{
		{Path: "/app/dir/node_modules", ignoredIf: ignoredIfDir},  // ignored folder: kept
		{Path: "/app/link/node_modules", ignoredIf: ignoredIfDir}, // a link, not ignored
		{Path: "/app/loop/node_modules", ignoredIf: ignoredIfDir}, // a link loop, not a folder
		{Path: "/app/gone/node_modules", ignoredIf: ignoredIfDir}, // nothing to delete
		{Path: "/app/file/x.tmp", ignoredIf: ignoredIfFile},       // ignored file: kept
		{Path: "/app/dir/x.tmp", ignoredIf: ignoredIfFile},        // a folder, not ignored
		{Path: "/app/loop/x.tmp", ignoredIf: ignoredIfFile},       // a link counts as a file
		{Path: "/app/plain.js"},
	}
	var got []string
	for _, d := range dropIgnoredDeletes(context.Background(), c, "c1", deletes) {
		got = append(got, d.Path)
	}
	want := []string{"/app/link/node_modules", "/app/loop/node_modules", "/app/dir/x.tmp", "/app/plain.js"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kept deletes %q, want %q", got, want)
	}

	// A failed stat after the context ended shows nothing about the path.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, d := range dropIgnoredDeletes(ctx, c, "c1", deletes[2:3]) {
		t.Errorf("delete of %s kept after the context ended", d.Path)
	}
}
