package sync

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// collect runs Collect and flattens its plan for comparisons.
func collect(changes []Change, log hclog.Logger) (entries []Entry, deletes []string, skipped []string, err error) {
	plan, err := Collect(changes, log)
	for _, d := range plan.Deletes {
		switch d.ignoredIf {
		case ignoredIfDir:
			deletes = append(deletes, d.Path+" unless a folder")
		case ignoredIfFile:
			deletes = append(deletes, d.Path+" unless a file")
		default:
			deletes = append(deletes, d.Path)
		}
	}
	return plan.Entries, deletes, plan.Skipped, err
}

// collectedPaths lists the container paths of entries with a type letter:
// p implicit folder, d folder, f file, l link (with its target).
func collectedPaths(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		switch m := e.Info.Mode(); {
		case e.implicit:
			out = append(out, "p "+e.ContainerPath)
		case m.IsDir():
			out = append(out, "d "+e.ContainerPath)
		case m&fs.ModeSymlink != 0:
			out = append(out, "l "+e.ContainerPath+" -> "+e.LinkTarget)
		default:
			out = append(out, "f "+e.ContainerPath)
		}
	}
	return out
}

func TestCollectWholeTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "api")
	makeFile(t, filepath.Join(root, "src", "index.js"), "console.log(1)\n", 0o644)
	makeFile(t, filepath.Join(root, "src", "empty.txt"), "", 0o600)
	makeFile(t, filepath.Join(root, "my dir", "héllo wörld.txt"), "hi", 0o644)
	makeFile(t, filepath.Join(root, "node_modules", "pkg", "index.js"), "x", 0o644)
	makeFile(t, filepath.Join(root, "..", "secret.txt"), "outside", 0o644)
	symlink(t, "../src/index.js", filepath.Join(root, "links", "inside"))
	symlink(t, "../../secret.txt", filepath.Join(root, "links", "outside"))
	symlink(t, filepath.Join(root, "src"), filepath.Join(root, "links", "absolute"))
	symlink(t, ".", filepath.Join(root, "links", "loop"))
	symlink(t, "missing", filepath.Join(root, "links", "dangling"))
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	tree := &Tree{HostRoot: root, ContainerRoot: "/app", Skip: skipNodeModules}
	done := make(chan struct{})
	var entries []Entry
	var deletes, skipped []string
	var err error
	go func() {
		defer close(done)
		entries, deletes, skipped, err = collect([]Change{{Tree: tree, HostPath: root}}, nil)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Collect did not return: a link loop was followed")
	}
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}

	want := []string{
		"p /app",
		"d /app/links",
		"l /app/links/dangling -> missing",
		"l /app/links/inside -> ../src/index.js",
		"l /app/links/loop -> .",
		"d /app/my dir",
		"f /app/my dir/héllo wörld.txt",
		"d /app/src",
		"f /app/src/empty.txt",
		"f /app/src/index.js",
	}
	if got := collectedPaths(entries); !reflect.DeepEqual(got, want) {
		t.Errorf("entries =\n%q\nwant\n%q", got, want)
	}
	if len(deletes) != 0 {
		t.Errorf("deletes = %q, want none", deletes)
	}
	wantSkipped := []string{
		filepath.Join(root, "fifo"),
		filepath.Join(root, "links", "absolute"),
		filepath.Join(root, "links", "outside"),
	}
	slices.Sort(skipped)
	if !reflect.DeepEqual(skipped, wantSkipped) {
		t.Errorf("skipped = %q, want %q", skipped, wantSkipped)
	}
}

func TestCollectAddsNewParents(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "new", "deep", "file.txt")
	makeFile(t, file, "x", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/srv/app"}

	entries, _, _, err := collect([]Change{{Tree: tree, HostPath: file}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"p /srv/app", "p /srv/app/new", "p /srv/app/new/deep", "f /srv/app/new/deep/file.txt"}
	if got := collectedPaths(entries); !reflect.DeepEqual(got, want) {
		t.Errorf("entries = %q, want %q (implicit parents up to the root, never the root's ancestors)", got, want)
	}
}

func TestCollectDeletes(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "kept.txt"), "x", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app", Skip: skipNodeModules}
	changes := []Change{
		{Tree: tree, HostPath: filepath.Join(root, "gone.txt")},
		{Tree: tree, HostPath: filepath.Join(root, "gone dir")},
		{Tree: tree, HostPath: filepath.Join(root, "gone dir", "sub", "x.js")},
		{Tree: tree, HostPath: filepath.Join(root, "gone dir-2")},
		{Tree: tree, HostPath: filepath.Join(root, "kept.txt", "under-a-file")},
		{Tree: tree, HostPath: filepath.Join(root, "node_modules")},
		{Tree: tree, HostPath: filepath.Join(root, "node_modules", "pkg", "index.js")},
	}

	entries, deletes, _, err := collect(changes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("entries = %q, want none", collectedPaths(entries))
	}
	// kept.txt is a file now: its copy replaces whatever folder the
	// container had there, and rm would fail on a path below a file. Only
	// folders named node_modules are ignored: the container decides.
	want := []string{"/app/gone dir", "/app/gone dir-2", "/app/gone.txt", "/app/node_modules unless a folder"}
	if !reflect.DeepEqual(deletes, want) {
		t.Errorf("deletes = %q, want %q", deletes, want)
	}
}

func TestCollectNeverDeletesTheRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "unmounted")
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	_, deletes, skipped, err := collect([]Change{{Tree: tree, HostPath: root}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(deletes) != 0 {
		t.Errorf("deletes = %q, want none for a missing root", deletes)
	}
	if !reflect.DeepEqual(skipped, []string{root}) {
		t.Errorf("skipped = %q, want the root", skipped)
	}
}

func TestCollectIgnoredAndOutside(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "node_modules", "pkg", "index.js"), "x", 0o644)
	makeFile(t, filepath.Join(root, "a.log"), "x", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app", Skip: func(p string, isDir bool) bool {
		return skipNodeModules(p, isDir) || filepath.Ext(p) == ".log"
	}}
	changes := []Change{
		{Tree: tree, HostPath: filepath.Join(root, "node_modules", "pkg", "index.js")},
		{Tree: tree, HostPath: filepath.Join(root, "a.log")},
		{Tree: tree, HostPath: "/etc/passwd"},
		{Tree: nil, HostPath: filepath.Join(root, "a.log")},
	}
	entries, deletes, skipped, err := collect(changes, nil)
	if len(entries) != 0 || len(deletes) != 0 || len(skipped) != 0 {
		t.Errorf("Collect = entries %q, deletes %q, skipped %q; want nothing", collectedPaths(entries), deletes, skipped)
	}
	if err == nil {
		t.Error("Collect succeeded, want errors for the path outside the tree and the change without a tree")
	}
}

func TestCollectSingleFileTree(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.json")
	makeFile(t, file, "{}", 0o644)
	tree := &Tree{HostRoot: file, ContainerRoot: "/etc/app/config.json"}
	entries, _, _, err := collect([]Change{{Tree: tree, HostPath: file}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := collectedPaths(entries); !reflect.DeepEqual(got, []string{"f /etc/app/config.json"}) {
		t.Errorf("entries = %q", got)
	}

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	_, deletes, _, err := collect([]Change{{Tree: tree, HostPath: file}}, nil)
	if err != nil || len(deletes) != 0 {
		t.Errorf("removed single-file root: deletes %q, %v; want none", deletes, err)
	}
}

func TestCollectPathBelowLinkLoop(t *testing.T) {
	root := t.TempDir()
	symlink(t, "loop", filepath.Join(root, "loop"))
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	entries, deletes, _, err := collect([]Change{{Tree: tree, HostPath: filepath.Join(root, "loop", "was-a-file")}}, nil)
	if err != nil {
		t.Errorf("Collect of a path below a link loop: %v, want it treated as gone", err)
	}
	// The loop replaced a folder: its own change replaces the container's.
	if len(entries) != 0 || len(deletes) != 0 {
		t.Errorf("Collect = entries %q, deletes %q; want nothing", collectedPaths(entries), deletes)
	}
}

func TestCollectSkipsLinkThroughRootName(t *testing.T) {
	root := filepath.Join(t.TempDir(), "src")
	makeFile(t, filepath.Join(root, "x"), "x", 0o644)
	// On the host it lands on src/x, but in the container the root has
	// another name, so it would leave the target.
	symlink(t, "../src/x", filepath.Join(root, "back"))
	symlink(t, "../x", filepath.Join(root, "sub", "up"))
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	entries, _, skipped, err := collect([]Change{{Tree: tree, HostPath: root}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"p /app", "d /app/sub", "l /app/sub/up -> ../x", "f /app/x"}
	if got := collectedPaths(entries); !reflect.DeepEqual(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(skipped, []string{filepath.Join(root, "back")}) {
		t.Errorf("skipped = %q, want the link through the root's name", skipped)
	}
}
