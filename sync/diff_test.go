package sync

import (
	"io/fs"
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	dir := func(mode fs.FileMode) Info { return Info{Kind: KindDir, Mode: mode, UID: 1000, GID: 1000} }
	file := func(size int64, hash string, mode fs.FileMode) Info {
		return Info{Kind: KindFile, Mode: mode, UID: 1000, GID: 1000, Size: size, Hash: hash}
	}
	link := func(target string) Info { return Info{Kind: KindSymlink, UID: 1000, GID: 1000, Link: target} }
	owned := func(in Info, uid, gid int) Info { in.UID, in.GID = uid, gid; return in }

	tests := []struct {
		name        string
		host, ctr   map[string]Info
		copies, del []string
	}{
		{
			name:   "empty container gets everything, folders first",
			host:   map[string]Info{".": dir(0o755), "a": dir(0o755), "a/x": file(1, "", 0o644), "a-b": file(2, "", 0o644)},
			ctr:    map[string]Info{},
			copies: []string{".", "a", "a-b", "a/x"},
		},
		{
			name: "equal trees need nothing",
			host: map[string]Info{".": dir(0o755), "f": file(3, "h1", 0o644), "l": link("f")},
			ctr:  map[string]Info{".": dir(0o755), "f": file(3, "h1", 0o644), "l": link("f")},
		},
		{
			name:   "same size, other content",
			host:   map[string]Info{".": dir(0o755), "f": file(3, "h1", 0o644)},
			ctr:    map[string]Info{".": dir(0o755), "f": file(3, "h2", 0o644)},
			copies: []string{"f"},
		},
		{
			name:   "same size, hash missing counts as different",
			host:   map[string]Info{".": dir(0o755), "f": file(3, "", 0o644)},
			ctr:    map[string]Info{".": dir(0o755), "f": file(3, "", 0o644)},
			copies: []string{"f"},
		},
		{
			name:   "other size needs no hash",
			host:   map[string]Info{".": dir(0o755), "f": file(4, "", 0o644)},
			ctr:    map[string]Info{".": dir(0o755), "f": file(3, "", 0o644)},
			copies: []string{"f"},
		},
		{
			name:   "mode-only change, and a setuid bit in the container",
			host:   map[string]Info{".": dir(0o755), "run.sh": file(1, "h", 0o755), "tool": file(1, "h", 0o755), "d": dir(0o700)},
			ctr:    map[string]Info{".": dir(0o755), "run.sh": file(1, "h", 0o644), "tool": file(1, "h", 0o755|fs.ModeSetuid), "d": dir(0o755)},
			copies: []string{"d", "run.sh", "tool"},
		},
		{
			name:   "owner differs",
			host:   map[string]Info{".": dir(0o755), "f": file(1, "h", 0o644), "d": dir(0o755), "l": link("f")},
			ctr:    map[string]Info{".": dir(0o755), "f": owned(file(1, "h", 0o644), 0, 0), "d": owned(dir(0o755), 1000, 0), "l": owned(link("f"), 0, 0)},
			copies: []string{"d", "f", "l"},
		},
		{
			name:   "link target differs",
			host:   map[string]Info{".": dir(0o755), "l": link("a")},
			ctr:    map[string]Info{".": dir(0o755), "l": link("b")},
			copies: []string{"l"},
		},
		{
			name: "root folder keeps the image's owner and mode",
			host: map[string]Info{".": dir(0o700)},
			ctr:  map[string]Info{".": owned(dir(0o755), 0, 0)},
		},
		{
			name:   "single-file root is compared like a file",
			host:   map[string]Info{".": file(1, "h", 0o755)},
			ctr:    map[string]Info{".": file(1, "h", 0o644)},
			copies: []string{"."},
		},
		{
			name: "deletes are pruned under deleted folders",
			host: map[string]Info{".": dir(0o755), "keep": file(1, "h", 0o644)},
			ctr: map[string]Info{".": dir(0o755), "keep": file(1, "h", 0o644), "old": dir(0o755), "old/x": file(1, "", 0o644),
				"old/sub": dir(0o755), "old/sub/y": file(1, "", 0o644), "old.txt": file(1, "", 0o644)},
			del: []string{"old", "old.txt"},
		},
		{
			name:   "folder became a file: the copy replaces it with its content",
			host:   map[string]Info{".": dir(0o755), "p": file(1, "", 0o644)},
			ctr:    map[string]Info{".": dir(0o755), "p": dir(0o755), "p/x": file(1, "", 0o644), "p/y": dir(0o755)},
			copies: []string{"p"},
		},
		{
			name:   "folder became a link",
			host:   map[string]Info{".": dir(0o755), "p": link("q"), "q": dir(0o755)},
			ctr:    map[string]Info{".": dir(0o755), "p": dir(0o755), "p/x": file(1, "", 0o644), "q": dir(0o755)},
			copies: []string{"p"},
		},
		{
			name:   "file became a folder",
			host:   map[string]Info{".": dir(0o755), "p": dir(0o755), "p/x": file(1, "", 0o644)},
			ctr:    map[string]Info{".": dir(0o755), "p": file(5, "", 0o644)},
			copies: []string{"p", "p/x"},
		},
		{
			name:   "special file in the container is replaced or deleted",
			host:   map[string]Info{".": dir(0o755), "f": file(0, "", 0o644)},
			ctr:    map[string]Info{".": dir(0o755), "f": {Kind: KindOther, UID: 1000, GID: 1000}, "fifo": {Kind: KindOther}},
			copies: []string{"f"},
			del:    []string{"fifo"},
		},
		{
			name:   "root is never deleted",
			host:   map[string]Info{},
			ctr:    map[string]Info{".": dir(0o755), "x": file(1, "", 0o644)},
			del:    []string{"x"},
			copies: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			copies, deletes := Diff(tt.host, tt.ctr)
			if !reflect.DeepEqual(copies, tt.copies) {
				t.Errorf("copies = %q, want %q", copies, tt.copies)
			}
			if !reflect.DeepEqual(deletes, tt.del) {
				t.Errorf("deletes = %q, want %q", deletes, tt.del)
			}
		})
	}
}

func TestJoinRel(t *testing.T) {
	tests := []struct{ root, rel, p string }{
		{"/app", ".", "/app"},
		{"/app", "a/b", "/app/a/b"},
		{"/", "etc", "/etc"},
	}
	for _, tt := range tests {
		if got := joinRel(tt.root, tt.rel); got != tt.p {
			t.Errorf("joinRel(%q, %q) = %q, want %q", tt.root, tt.rel, got, tt.p)
		}
	}
}
