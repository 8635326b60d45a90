package sync

import (
	"errors"
	"testing"
)

func TestContainerPath(t *testing.T) {
	dir := Tree{HostRoot: "/home/me/shop/api", ContainerRoot: "/usr/src/app"}
	file := Tree{HostRoot: "/home/me/shop/api/package.json", ContainerRoot: "/usr/src/app/package.json"}
	atRoot := Tree{HostRoot: "/home/me/shop/api", ContainerRoot: "/"}
	slashed := Tree{HostRoot: "/home/me/shop/api/", ContainerRoot: "/usr/src/app/"}

	tests := []struct {
		name    string
		tree    Tree
		host    string
		want    string
		outside bool
	}{
		{name: "root itself", tree: dir, host: "/home/me/shop/api", want: "/usr/src/app"},
		{name: "file", tree: dir, host: "/home/me/shop/api/src/index.js", want: "/usr/src/app/src/index.js"},
		{name: "unclean host path", tree: dir, host: "/home/me/shop/api/src/../lib//x.js", want: "/usr/src/app/lib/x.js"},
		{name: "name starting with two dots", tree: dir, host: "/home/me/shop/api/..data/x", want: "/usr/src/app/..data/x"},
		{name: "spaces and non-ASCII", tree: dir, host: "/home/me/shop/api/my dir/héllo wörld.txt", want: "/usr/src/app/my dir/héllo wörld.txt"},
		{name: "roots with trailing slashes", tree: slashed, host: "/home/me/shop/api/a", want: "/usr/src/app/a"},
		{name: "container root is /", tree: atRoot, host: "/home/me/shop/api/etc/app.conf", want: "/etc/app.conf"},
		{name: "container root is / for the root", tree: atRoot, host: "/home/me/shop/api", want: "/"},
		{name: "single-file root", tree: file, host: "/home/me/shop/api/package.json", want: "/usr/src/app/package.json"},

		{name: "escape with ..", tree: dir, host: "/home/me/shop/api/../web/index.js", outside: true},
		{name: "escape to parent", tree: dir, host: "/home/me/shop", outside: true},
		{name: "sibling with common prefix", tree: dir, host: "/home/me/shop/api-old/x", outside: true},
		{name: "elsewhere", tree: dir, host: "/etc/passwd", outside: true},
		{name: "relative path", tree: dir, host: "src/index.js", outside: true},
		{name: "beside a single-file root", tree: file, host: "/home/me/shop/api/package-lock.json", outside: true},
		{name: "under a single-file root", tree: file, host: "/home/me/shop/api/package.json/x", want: "/usr/src/app/package.json/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.tree.ContainerPath(tt.host)
			if tt.outside {
				if !errors.Is(err, ErrOutsideTree) {
					t.Errorf("ContainerPath(%q) = %q, %v; want ErrOutsideTree", tt.host, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ContainerPath(%q) = %q, %v; want %q", tt.host, got, err, tt.want)
			}
		})
	}
}

func TestContainerPathRelativeRoots(t *testing.T) {
	for _, tree := range []Tree{
		{HostRoot: "api", ContainerRoot: "/app"},
		{HostRoot: "/home/me/api", ContainerRoot: "app"},
	} {
		if _, err := tree.ContainerPath("/home/me/api/x"); err == nil {
			t.Errorf("tree %+v: ContainerPath succeeded, want an error for a relative root", tree)
		}
	}
}
