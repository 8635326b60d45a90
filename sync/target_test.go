package sync

import (
	"errors"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine"
)

func TestCheckTarget(t *testing.T) {
	tree := &Tree{HostRoot: "/h/api", ContainerRoot: "/usr/src/app"}
	tests := []struct {
		name string
		c    engine.Container
		want []string // substrings, one per problem; none means no error
	}{
		{name: "plain container", c: engine.Container{Name: "api-1", Mounts: []engine.Mount{
			{Type: "volume", Destination: "/usr/src/app/node_modules"},
			{Type: "tmpfs", Destination: "/run"},
			{Type: "tmpfs", Destination: "/usr/src/application"},
			{Type: "bind", Destination: "/etc/app", ReadOnly: true},
		}}},
		{name: "read-only root file system", c: engine.Container{Name: "api-1", ReadOnlyRootfs: true},
			want: []string{"read_only: true"}},
		{name: "target on a tmpfs", c: engine.Container{Name: "api-1", Mounts: []engine.Mount{{Type: "tmpfs", Destination: "/usr/src"}}},
			want: []string{"is on a tmpfs mount at /usr/src"}},
		{name: "tmpfs below the target", c: engine.Container{Name: "api-1", Mounts: []engine.Mount{{Type: "tmpfs", Destination: "/usr/src/app/cache", ReadOnly: true}}},
			want: []string{"folder /usr/src/app/cache under target"}},
		{name: "target on a read-only volume", c: engine.Container{Name: "api-1", Mounts: []engine.Mount{{Type: "volume", Destination: "/usr/src/app", ReadOnly: true}}},
			want: []string{"read-only volume mount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTarget(tt.c, tree)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("CheckTarget = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrTargetUnreachable) {
				t.Fatalf("CheckTarget = %v, want ErrTargetUnreachable", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) || !strings.Contains(err.Error(), "api-1") {
					t.Errorf("CheckTarget = %v, want it to name api-1 and say %q", err, w)
				}
			}
		})
	}
}

func TestCheckTargetFromInside(t *testing.T) {
	tree := &Tree{HostRoot: "/h/api", ContainerRoot: "/usr/src/app"}
	onTmpfs := engine.Container{Name: "api-1", Mounts: []engine.Mount{{Type: "tmpfs", Destination: "/usr/src"}}}
	if err := CheckTargetFromInside(onTmpfs, tree); err != nil {
		t.Errorf("a target on a tmpfs, written from inside: %v, want nil", err)
	}
	if err := CheckTarget(onTmpfs, tree); err == nil {
		t.Error("a target on a tmpfs, written through the engine: nil, want an error")
	}
	readOnly := engine.Container{Name: "api-1", Mounts: []engine.Mount{{Type: "volume", Destination: "/usr/src/app", ReadOnly: true}}}
	if err := CheckTargetFromInside(readOnly, tree); !errors.Is(err, ErrTargetUnreachable) {
		t.Errorf("a read-only target, written from inside: %v, want ErrTargetUnreachable", err)
	}
}
