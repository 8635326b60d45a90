package sync

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# a comment line
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
node:x:1000:1000::/home/node:/bin/sh
broken line
app:x:1001:50::/app:/bin/sh
twin:x:1000:77::/:/bin/sh
`

const testGroup = `root:x:0:
staff:x:50:app
node:x:1000:
web:x:33:node
`

func TestOwnerFromFiles(t *testing.T) {
	tests := []struct {
		user string
		want Owner
		err  string
	}{
		{user: "", want: Owner{}},
		{user: "root", want: Owner{}},
		{user: "node", want: Owner{UID: 1000, GID: 1000}},
		{user: "app", want: Owner{UID: 1001, GID: 50}},
		{user: "1000", want: Owner{UID: 1000, GID: 1000}}, // first entry with the uid wins
		{user: "1001", want: Owner{UID: 1001, GID: 50}},
		{user: "4242", want: Owner{UID: 4242, GID: 0}}, // no entry: gid 0, as the engine does
		{user: "4242:4243", want: Owner{UID: 4242, GID: 4243}},
		{user: "node:web", want: Owner{UID: 1000, GID: 33}},
		{user: "node:33", want: Owner{UID: 1000, GID: 33}},
		{user: "node:999", want: Owner{UID: 1000, GID: 999}},
		{user: "4242:staff", want: Owner{UID: 4242, GID: 50}},
		{user: ":33", want: Owner{UID: 0, GID: 33}},
		{user: "1000:", want: Owner{UID: 1000, GID: 1000}},
		{user: "nobody", err: `no user "nobody"`},
		{user: "node:nogroup", err: `no group "nogroup"`},
		{user: "99999999999", err: "out of range"},
	}
	for _, tt := range tests {
		got, err := ownerFromFiles(tt.user, []byte(testPasswd), []byte(testGroup))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ownerFromFiles(%q) = %+v, %v; want an error with %q", tt.user, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ownerFromFiles(%q) = %+v, %v; want %+v", tt.user, got, err, tt.want)
		}
	}
}

func TestOwnerFromFilesWithoutPasswd(t *testing.T) {
	if got, err := ownerFromFiles("1000", nil, nil); err != nil || got != (Owner{UID: 1000}) {
		t.Errorf("numeric user in a scratch image = %+v, %v; want 1000:0", got, err)
	}
	if got, err := ownerFromFiles("1000:1000", nil, nil); err != nil || got != (Owner{UID: 1000, GID: 1000}) {
		t.Errorf("numeric user and group in a scratch image = %+v, %v; want 1000:1000", got, err)
	}
	if _, err := ownerFromFiles("node", nil, nil); err == nil {
		t.Error("named user in a scratch image resolved, want an error")
	}
}

// fakeFiles serves container files from memory, as single-entry archives.
type fakeFiles struct {
	files map[string]string // path to content
	links map[string]string // path to link target
	reads []string
}

func (r *fakeFiles) CopyFromContainer(_ context.Context, id, srcPath string) (io.ReadCloser, error) {
	r.reads = append(r.reads, srcPath)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	name := srcPath[strings.LastIndex(srcPath, "/")+1:]
	switch content, isFile := r.files[srcPath]; {
	case isFile:
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
		_, _ = tw.Write([]byte(content))
	case r.links[srcPath] != "":
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: r.links[srcPath]})
	default:
		return nil, fmt.Errorf("copying %s from container %s: %w", srcPath, id, engine.ErrNotFound)
	}
	_ = tw.Close()
	return io.NopCloser(&buf), nil
}

func TestResolveOwner(t *testing.T) {
	ctx := context.Background()
	r := &fakeFiles{
		files: map[string]string{"/usr/lib/passwd": testPasswd, "/etc/group": testGroup},
		links: map[string]string{"/etc/passwd": "../usr/lib/passwd"},
	}
	got, err := ResolveOwner(ctx, r, "c1", "app:web")
	if err != nil || got != (Owner{UID: 1001, GID: 33}) {
		t.Errorf("ResolveOwner through a linked passwd = %+v, %v; want 1001:33", got, err)
	}

	r.reads = nil
	if got, err := ResolveOwner(ctx, r, "c1", ""); err != nil || got != (Owner{}) || len(r.reads) != 0 {
		t.Errorf("ResolveOwner of no user = %+v, %v after reading %q; want root without reading", got, err, r.reads)
	}

	scratch := &fakeFiles{}
	if got, err := ResolveOwner(ctx, scratch, "c1", "65532"); err != nil || got != (Owner{UID: 65532}) {
		t.Errorf("ResolveOwner in a scratch image = %+v, %v; want 65532:0", got, err)
	}
	if _, err := ResolveOwner(ctx, scratch, "c1", "nonroot"); err == nil || !strings.Contains(err.Error(), "numeric uid") {
		t.Errorf("ResolveOwner of a name in a scratch image = %v, want an error suggesting a numeric uid", err)
	}

	loop := &fakeFiles{links: map[string]string{"/etc/passwd": "passwd"}}
	if _, err := ResolveOwner(ctx, loop, "c1", "node"); err == nil || !strings.Contains(err.Error(), "symlinks") {
		t.Errorf("ResolveOwner with a link loop = %v, want an error about symlinks", err)
	}
}
