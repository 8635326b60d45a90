package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	stdsync "sync"
	"testing"

	"github.com/devdtool/devd/engine"
)

// statCopier is a fakeCopier that also describes container paths, like the
// engine: a missing path is ErrNotFound, a path below a file is another
// error, and a trailing slash follows a final link.
type statCopier struct {
	fakeCopier
	paths map[string]fs.FileMode // container paths that exist
	links map[string]string      // link path to the path it resolves to
	errs  map[string]error       // paths whose stat fails, as a link loop's does

	mu    stdsync.Mutex
	stats []string
}

var _ Stater = (*statCopier)(nil)

func (s *statCopier) StatPath(_ context.Context, _ string, p string) (engine.PathStat, error) {
	s.mu.Lock()
	s.stats = append(s.stats, p)
	s.mu.Unlock()

	if err, ok := s.errs[p]; ok {
		return engine.PathStat{}, err
	}
	follow := p != "/" && strings.HasSuffix(p, "/")
	p = path.Clean(p)
	cur := "/"
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		last := i == len(parts)-1
		next := path.Join(cur, part)
		mode, ok := s.paths[next]
		if ok && mode&fs.ModeSymlink != 0 && (!last || follow) {
			next = s.links[next]
			mode, ok = s.paths[next]
		}
		switch {
		case !ok:
			return engine.PathStat{}, fmt.Errorf("stat %s: %w", p, engine.ErrNotFound)
		case !last && !mode.IsDir():
			return engine.PathStat{}, fmt.Errorf("stat %s: not a directory", p)
		case last:
			return engine.PathStat{Name: part, Mode: mode}, nil
		}
		cur = next
	}
	return engine.PathStat{Name: "/", Mode: folder}, nil
}

func (s *statCopier) sortedStats() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(slices.Values(s.stats))
}

const folder = fs.ModeDir | 0o755

func TestKeepNeeded(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "src", "x", "a.js"), "a", 0o644)
	makeFile(t, filepath.Join(root, "src", "posts", "2024", "hello.md"), "hi", 0o644)
	makeFile(t, filepath.Join(root, "src", "lib", "util.js"), "u", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	plan := func(rels ...string) []Entry {
		t.Helper()
		var changes []Change
		for _, rel := range rels {
			changes = append(changes, Change{Tree: tree, HostPath: filepath.Join(root, filepath.FromSlash(rel))})
		}
		p, err := Collect(changes, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p.Entries
	}

	tests := []struct {
		name      string
		rels      []string
		paths     map[string]fs.FileMode
		links     map[string]string
		want      []string
		wantStats []string
	}{
		{
			name:      "existing parents are left alone",
			rels:      []string{"src/x/a.js"},
			paths:     map[string]fs.FileMode{"/app": folder, "/app/src": folder, "/app/src/x": folder},
			want:      []string{"f /app/src/x/a.js"},
			wantStats: []string{"/app/", "/app/src", "/app/src/x"},
		},
		{
			name:      "new folders are written up to the first existing one",
			rels:      []string{"src/posts/2024/hello.md"},
			paths:     map[string]fs.FileMode{"/app": folder, "/app/src": folder},
			want:      []string{"p /app/src/posts", "p /app/src/posts/2024", "f /app/src/posts/2024/hello.md"},
			wantStats: []string{"/app/", "/app/src", "/app/src/posts", "/app/src/posts/2024"},
		},
		{
			name: "a missing root is created",
			rels: []string{"src/x/a.js"},
			want: []string{"p /app", "p /app/src", "p /app/src/x", "f /app/src/x/a.js"},
			// The root is probed following a link, the others not.
			wantStats: []string{"/app/", "/app/src", "/app/src/x"},
		},
		{
			name:      "a file in place of a parent folder is replaced",
			rels:      []string{"src/lib/util.js"},
			paths:     map[string]fs.FileMode{"/app": folder, "/app/src": folder, "/app/src/lib": 0o644},
			want:      []string{"p /app/src/lib", "f /app/src/lib/util.js"},
			wantStats: []string{"/app/", "/app/src", "/app/src/lib"},
		},
		{
			name: "nothing is written through the container's own link to a folder",
			rels: []string{"src/posts/2024/hello.md"},
			paths: map[string]fs.FileMode{"/app": folder, "/app/src": fs.ModeSymlink | 0o777,
				"/etc": folder, "/etc/posts": folder, "/etc/posts/2024": folder},
			links:     map[string]string{"/app/src": "/etc"},
			want:      []string{"p /app/src", "p /app/src/posts", "p /app/src/posts/2024", "f /app/src/posts/2024/hello.md"},
			wantStats: []string{"/app/", "/app/src", "/app/src/posts", "/app/src/posts/2024"},
		},
		{
			name:      "a root that is the container's link to a folder is kept",
			rels:      []string{"src"},
			paths:     map[string]fs.FileMode{"/app": fs.ModeSymlink | 0o777, "/srv/app": folder},
			links:     map[string]string{"/app": "/srv/app"},
			want:      []string{"d /app/src", "d /app/src/lib", "f /app/src/lib/util.js", "d /app/src/posts", "d /app/src/posts/2024", "f /app/src/posts/2024/hello.md", "d /app/src/x", "f /app/src/x/a.js"},
			wantStats: []string{"/app/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &statCopier{paths: tt.paths, links: tt.links}
			toWrite, bad := keepNeeded(context.Background(), c, "c1", plan(tt.rels...))
			if len(bad) != 0 {
				t.Fatalf("bad trees: %v", bad)
			}
			if got := collectedPaths(toWrite); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("wrote %q, want %q", got, tt.want)
			}
			if got := c.sortedStats(); !reflect.DeepEqual(got, tt.wantStats) {
				t.Errorf("probed %q, want %q", got, tt.wantStats)
			}
		})
	}
}

func TestKeepNeededRootNotAFolder(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "a", "f.js"), "a", 0o644)
	other := t.TempDir()
	makeFile(t, filepath.Join(other, "g.js"), "g", 0o644)
	broken := &Tree{HostRoot: root, ContainerRoot: "/app/src"}
	fine := &Tree{HostRoot: other, ContainerRoot: "/srv"}
	p, err := Collect([]Change{{Tree: broken, HostPath: filepath.Join(root, "a", "f.js")}, {Tree: fine, HostPath: filepath.Join(other, "g.js")}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name  string
		paths map[string]fs.FileMode
		want  string
	}{
		{"target is a file", map[string]fs.FileMode{"/app": folder, "/app/src": 0o644, "/srv": folder}, "target /app/src is a file"},
		{"target's parent is a file", map[string]fs.FileMode{"/app": 0o644, "/srv": folder}, "is one of its parent folders a file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &statCopier{paths: tt.paths}
			toWrite, bad := keepNeeded(context.Background(), c, "c1", p.Entries)
			if err := bad["/app/src"]; err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), root) {
				t.Errorf("error for the broken tree = %v, want one naming %s and saying %q", err, root, tt.want)
			}
			if got := collectedPaths(toWrite); !reflect.DeepEqual(got, []string{"f /srv/g.js"}) {
				t.Errorf("wrote %q, want only the other tree's file", got)
			}
		})
	}
}

func TestKeepNeededWithoutStater(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "src", "a.js"), "a", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	p, err := Collect([]Change{{Tree: tree, HostPath: filepath.Join(root, "src", "a.js")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	toWrite, bad := keepNeeded(context.Background(), &fakeCopier{}, "c1", p.Entries)
	if got := collectedPaths(toWrite); len(bad) != 0 || !reflect.DeepEqual(got, []string{"p /app/src", "f /app/src/a.js"}) {
		t.Errorf("wrote %q (bad %v), want the parent but not the root", got, bad)
	}
}

func TestApplyLeavesExistingFoldersAlone(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "src", "a.js"), "a", 0o644)
	makeFile(t, filepath.Join(root, "src", "new", "b.js"), "b", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	c := &statCopier{paths: map[string]fs.FileMode{"/app": folder, "/app/src": folder}}

	_, err := Apply(context.Background(), c, "c1", []Change{
		{Tree: tree, HostPath: filepath.Join(root, "src", "a.js")},
		{Tree: tree, HostPath: filepath.Join(root, "src", "new", "b.js")},
	}, Owner{UID: 1000, GID: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.archives) != 1 {
		t.Fatalf("%d archives, want 1", len(c.archives))
	}
	items, order := readTarBytes(t, c.archives[0])
	if !reflect.DeepEqual(order, []string{"app/src/a.js", "app/src/new/", "app/src/new/b.js"}) {
		t.Errorf("archive holds %q, want the files and the new folder only", order)
	}
	if it := items["app/src/new/"]; it.UID != 1000 || it.GID != 1000 {
		t.Errorf("new folder owned by %d:%d, want 1000:1000", it.UID, it.GID)
	}
}

func TestApplyReportsBrokenTargetAndKeepsTheRest(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "a.js"), "a", 0o644)
	other := t.TempDir()
	makeFile(t, filepath.Join(other, "b.js"), "b", 0o644)
	broken := &Tree{HostRoot: root, ContainerRoot: "/app/src"}
	fine := &Tree{HostRoot: other, ContainerRoot: "/srv"}
	c := &statCopier{paths: map[string]fs.FileMode{"/app": folder, "/app/src": 0o644, "/srv": folder, "/srv/gone.js": 0o644}}

	res, err := Apply(context.Background(), c, "c1", []Change{
		{Tree: broken, HostPath: filepath.Join(root, "a.js")},
		{Tree: broken, HostPath: filepath.Join(root, "gone.js")},
		{Tree: fine, HostPath: filepath.Join(other, "b.js")},
		{Tree: fine, HostPath: filepath.Join(other, "gone.js")},
	}, Owner{}, nil)
	if err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("Apply error = %v, want one saying the target is a file", err)
	}
	if res.Copied != 1 || res.Deleted != 1 {
		t.Errorf("result = %+v, want the other tree's copy and delete", res)
	}
	if want := [][]string{{"rm", "-rf", "--", "/srv/gone.js"}}; !reflect.DeepEqual(c.execs, want) {
		t.Errorf("execs = %q, want %q", c.execs, want)
	}
}

func TestApplySkipsAbsentDeletes(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "message.js"), "m", 0o644)
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	c := &statCopier{paths: map[string]fs.FileMode{"/app": folder, "/app/message.js": 0o644, "/app/old.js": 0o644}}
	change := func(name string) Change { return Change{Tree: tree, HostPath: filepath.Join(root, name)} }

	// An atomic save: the temporary file never reached the container.
	res, err := Apply(context.Background(), c, "c1", []Change{change("message.js"), change(".message.js.tmp")}, Owner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.execs) != 0 {
		t.Errorf("execs = %q, want none for a path the container lacks", c.execs)
	}
	if res.Deleted != 1 {
		t.Errorf("deleted = %d, want the absent path counted", res.Deleted)
	}

	if _, err := Apply(context.Background(), c, "c1", []Change{change("old.js"), change("never.js")}, Owner{}, nil); err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"rm", "-rf", "--", "/app/old.js"}}; !reflect.DeepEqual(c.execs, want) {
		t.Errorf("execs = %q, want rm of the present path only", c.execs)
	}
}

func TestApplyRetriesTreeByTree(t *testing.T) {
	root := t.TempDir()
	makeFile(t, filepath.Join(root, "a.js"), "a", 0o644)
	other := t.TempDir()
	makeFile(t, filepath.Join(other, "b.js"), "bb", 0o644)
	ro := &Tree{HostRoot: root, ContainerRoot: "/ro"}
	rw := &Tree{HostRoot: other, ContainerRoot: "/rw"}
	errReadOnly := errors.New("read-only file system")
	c := &rejectingCopier{reject: "ro/", err: errReadOnly}

	res, err := Apply(context.Background(), c, "c1", []Change{
		{Tree: ro, HostPath: filepath.Join(root, "a.js")},
		{Tree: rw, HostPath: filepath.Join(other, "b.js")},
	}, Owner{}, nil)
	if !errors.Is(err, errReadOnly) {
		t.Errorf("Apply error = %v, want the read-only error", err)
	}
	if res.Copied != 1 || res.Bytes != 2 || c.accepted != 1 || c.calls != 3 {
		t.Errorf("result = %+v after %d calls, %d accepted; want the writable tree copied on its own", res, c.calls, c.accepted)
	}
}

// rejectingCopier rejects any archive holding an entry that starts with
// reject.
type rejectingCopier struct {
	fakeCopier
	reject   string
	err      error
	calls    int
	accepted int
}

func (r *rejectingCopier) CopyToContainer(ctx context.Context, id, dstDir string, content io.Reader) error {
	r.calls++
	names, _ := readTarStream(content)
	for _, name := range names {
		if strings.HasPrefix(name, r.reject) {
			return r.err
		}
	}
	r.accepted++
	return nil
}

func TestApplyDeletesIgnoredByType(t *testing.T) {
	root := t.TempDir()
	tree := &Tree{HostRoot: root, ContainerRoot: "/app", Skip: skipNodeModules}
	changes := []Change{
		{Tree: tree, HostPath: filepath.Join(root, "node_modules")},
		{Tree: tree, HostPath: filepath.Join(root, "sub", "node_modules")},
		{Tree: tree, HostPath: filepath.Join(root, "gone", "node_modules")},
	}
	c := &statCopier{paths: map[string]fs.FileMode{
		"/app":                  folder,
		"/app/node_modules":     folder, // the container's own: ignored
		"/app/sub":              folder,
		"/app/sub/node_modules": 0o644, // a file: synced earlier, now gone
	}}
	res, err := Apply(context.Background(), c, "c1", changes, Owner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"rm", "-rf", "--", "/app/sub/node_modules"}}; !reflect.DeepEqual(c.execs, want) || res.Deleted != 1 {
		t.Errorf("execs = %q (deleted %d), want only the file deleted", c.execs, res.Deleted)
	}

	// Without a way to ask, such paths are left alone.
	fake := &fakeCopier{}
	if _, err := Apply(context.Background(), fake, "c1", changes, Owner{}, nil); err != nil || len(fake.execs) != 0 {
		t.Errorf("Apply without Stater = %v with execs %q, want no delete", err, fake.execs)
	}
}

func TestApplySkipsDeletesBelowContainerLinks(t *testing.T) {
	root := t.TempDir()
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	c := &statCopier{
		paths: map[string]fs.FileMode{
			"/app": folder, "/app/dir": fs.ModeSymlink | 0o777, "/": folder, "/r": 0o644,
			"/app/real": folder, "/app/real/x.js": 0o644,
		},
		links: map[string]string{"/app/dir": "/"},
	}
	// The host deleted dir/r and real/x.js; in the container, dir is a
	// link to / placed by the container.
	_, err := Apply(context.Background(), c, "c1", []Change{
		{Tree: tree, HostPath: filepath.Join(root, "dir", "r")},
		{Tree: tree, HostPath: filepath.Join(root, "real", "x.js")},
	}, Owner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"rm", "-rf", "--", "/app/real/x.js"}}; !reflect.DeepEqual(c.execs, want) {
		t.Errorf("execs = %q, want rm of the path in the tree only", c.execs)
	}
}
