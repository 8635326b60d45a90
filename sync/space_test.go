package sync

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine"
)

func TestApplyNamesTheFullTarget(t *testing.T) {
	full, roomy := t.TempDir(), t.TempDir()
	makeFile(t, filepath.Join(full, "big.bin"), "big", 0o644)
	makeFile(t, filepath.Join(roomy, "b.js"), "bb", 0o644)
	fullTree := &Tree{HostRoot: full, ContainerRoot: "/data/files/"}
	roomyTree := &Tree{HostRoot: roomy, ContainerRoot: "/srv/app"}
	// The error as engine.Client wraps it.
	errFull := fmt.Errorf("copying to / in container c1: %w: write /data/files/big.bin: no space left on device", engine.ErrNoSpace)
	c := &rejectingCopier{reject: "data/", err: errFull}

	res, err := Apply(context.Background(), c, "c1", []Change{
		{Tree: fullTree, HostPath: filepath.Join(full, "big.bin")},
		{Tree: roomyTree, HostPath: filepath.Join(roomy, "b.js")},
	}, Owner{}, nil)
	if !errors.Is(err, engine.ErrNoSpace) {
		t.Fatalf("Apply error = %v, want ErrNoSpace", err)
	}
	var ns *NoSpaceError
	if !errors.As(err, &ns) || ns.Target != "/data/files" {
		t.Fatalf("Apply error = %v, want a NoSpaceError for /data/files", err)
	}
	for _, s := range []string{"/data/files in the container is out of space", "free space in the container", "bigger", "no space left on device"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if got := NoSpaceTargets(err); !reflect.DeepEqual(got, []string{"/data/files"}) {
		t.Errorf("NoSpaceTargets = %q, want only /data/files", got)
	}
	if res.Copied != 1 || c.accepted != 1 {
		t.Errorf("result = %+v, %d archives accepted; want the other tree copied", res, c.accepted)
	}
}

func TestNoSpaceTargets(t *testing.T) {
	other := errors.New("connection reset")
	a := &NoSpaceError{Target: "/b", Err: engine.ErrNoSpace}
	b := &NoSpaceError{Target: "/a", Err: engine.ErrNoSpace}
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{nil, nil},
		{other, nil},
		{engine.ErrNoSpace, nil},
		{fmt.Errorf("syncing: %w", a), []string{"/b"}},
		{errors.Join(other, fmt.Errorf("x: %w", a), b, a), []string{"/a", "/b"}},
	} {
		if got := NoSpaceTargets(tc.err); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("NoSpaceTargets(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
