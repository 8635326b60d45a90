package sync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devdtool/devd/engine"
)

// scriptedExec returns an exit code chosen by the command's first word.
type scriptedExec struct {
	fakeCopier
	codes   map[string]int    // exit code by command name; absent means 0
	outputs map[string]string // output by command name when it fails
	err     error
}

func (s *scriptedExec) Exec(_ context.Context, _ string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error) {
	s.execs = append(s.execs, cmd)
	s.users = append(s.users, opts.User)
	if s.err != nil {
		return engine.ExecResult{}, s.err
	}
	code := s.codes[cmd[0]]
	out := ""
	if code != 0 {
		out = cmd[0] + " failed"
	}
	if o, ok := s.outputs[cmd[0]]; ok {
		out = o
	}
	return engine.ExecResult{ExitCode: code, Output: []byte(out)}, nil
}

func deletesUnder(tree *Tree, paths ...string) []Delete {
	var out []Delete
	for _, p := range paths {
		out = append(out, Delete{Tree: tree, Path: p})
	}
	return out
}

func TestRemovePathsFallsBackToTheSupervisor(t *testing.T) {
	app := &Tree{HostRoot: "/h/app", ContainerRoot: "/app"}
	lib := &Tree{HostRoot: "/h/lib", ContainerRoot: "/lib/x"}
	deletes := append(deletesUnder(app, "/app/a", "/app/b"), deletesUnder(lib, "/lib/x/c")...)
	c := &scriptedExec{codes: map[string]int{"rm": 127}}

	n, err := removePaths(context.Background(), c, "c1", deletes)
	if err != nil || n != 3 {
		t.Fatalf("removePaths = %d, %v; want 3 removed by the supervisor", n, err)
	}
	want := [][]string{
		{"rm", "-rf", "--", "/app/a", "/app/b"},
		{SupervisorPath, "supervise", "rm", "--root", "/app", "--", "/app/a", "/app/b"},
		// rm is not tried again once it proved missing.
		{SupervisorPath, "supervise", "rm", "--root", "/lib/x", "--", "/lib/x/c"},
	}
	if !reflect.DeepEqual(c.execs, want) {
		t.Errorf("execs =\n%q\nwant\n%q", c.execs, want)
	}
	for _, u := range c.users {
		if u != "0" {
			t.Errorf("delete ran as %q, want root", u)
		}
	}
}

func TestRemovePathsWithoutAnyRemover(t *testing.T) {
	app := &Tree{HostRoot: "/h/app", ContainerRoot: "/app"}
	c := &scriptedExec{codes: map[string]int{"rm": 127, SupervisorPath: 126}}
	n, err := removePaths(context.Background(), c, "c1", deletesUnder(app, "/app/a"))
	if !errors.Is(err, ErrNoRemover) || n != 0 || !strings.Contains(err.Error(), "devd up") {
		t.Errorf("removePaths = %d, %v; want ErrNoRemover saying how to fix it", n, err)
	}
}

func TestRemovePathsOnAStoppedContainer(t *testing.T) {
	app := &Tree{HostRoot: "/h/app", ContainerRoot: "/app"}
	c := &scriptedExec{err: engine.ErrNotRunning}
	_, err := removePaths(context.Background(), c, "c1", deletesUnder(app, "/app/a"))
	if !errors.Is(err, ErrNeedsRunning) || !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("removePaths on a stopped container = %v, want ErrNeedsRunning", err)
	}
	if len(c.execs) != 1 {
		t.Errorf("%d execs, want 1: the supervisor cannot run either", len(c.execs))
	}
}

func TestRemovePathsContainerStopsDuringExec(t *testing.T) {
	app := &Tree{HostRoot: "/h/app", ContainerRoot: "/app"}
	for _, out := range []string{
		"OCI runtime exec failed: exec failed: cannot exec in a stopped state: unknown",
		"OCI runtime exec failed: exec failed: cannot exec a container that has stopped: unknown",
		"container 0123abcd is not running",
	} {
		c := &scriptedExec{codes: map[string]int{"rm": 126}, outputs: map[string]string{"rm": out}}
		_, err := removePaths(context.Background(), c, "c1", deletesUnder(app, "/app/a"))
		if !errors.Is(err, ErrNeedsRunning) {
			t.Errorf("rm output %q: error %v, want ErrNeedsRunning", out, err)
		}
		if errors.Is(err, ErrNoRemover) {
			t.Errorf("rm output %q: the container was taken for one without rm", out)
		}
	}

	missing := `OCI runtime exec failed: exec failed: unable to start container process: exec: "rm": executable file not found in $PATH: unknown`
	c := &scriptedExec{codes: map[string]int{"rm": 126, SupervisorPath: 126}, outputs: map[string]string{"rm": missing}}
	if _, err := removePaths(context.Background(), c, "c1", deletesUnder(app, "/app/a")); !errors.Is(err, ErrNoRemover) {
		t.Errorf("rm not found: error %v, want ErrNoRemover", err)
	}
}

func TestRemovePathsReportsFailure(t *testing.T) {
	app := &Tree{HostRoot: "/h/app", ContainerRoot: "/app"}
	c := &scriptedExec{codes: map[string]int{"rm": 1}}
	n, err := removePaths(context.Background(), c, "c1", deletesUnder(app, "/app/a"))
	if err == nil || n != 0 || !strings.Contains(err.Error(), "rm exited with 1: rm failed") {
		t.Errorf("removePaths = %d, %v; want rm's exit code and output", n, err)
	}
}

func TestRemovePathsRefusesPathsOutsideTheRoot(t *testing.T) {
	app := &Tree{HostRoot: "/h/app", ContainerRoot: "/app"}
	for _, p := range []string{"/app", "/etc/passwd", "/app/../etc", "/app-old/x", "app/x", "/"} {
		c := &scriptedExec{}
		_, err := removePaths(context.Background(), c, "c1", deletesUnder(app, p))
		if !errors.Is(err, ErrOutsideTree) || len(c.execs) != 0 {
			t.Errorf("removing %q: %v after %d execs, want a refusal and no exec", p, err, len(c.execs))
		}
	}
}

func TestRemoveAll(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "app")
	outside := filepath.Join(base, "etc")
	makeFile(t, filepath.Join(root, "dir", "sub", "f"), "x", 0o644)
	makeFile(t, filepath.Join(root, "file"), "x", 0o644)
	makeFile(t, filepath.Join(outside, "passwd"), "keep", 0o644)
	symlink(t, "../etc", filepath.Join(root, "toetc"))
	symlink(t, "../etc/passwd", filepath.Join(root, "linkfile"))

	err := RemoveAll(root, []string{
		filepath.Join(root, "dir"),
		filepath.Join(root, "linkfile"),
		filepath.Join(root, "never-there"),
		filepath.Join(root, "file", "below-a-file"),
	})
	if err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	for _, p := range []string{"dir", "linkfile"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if data, err := os.ReadFile(filepath.Join(outside, "passwd")); err != nil || string(data) != "keep" {
		t.Errorf("the link's target was touched: %q, %v", data, err)
	}

	// The path is not in the tree: nothing to remove, and no error that
	// would keep the delete pending.
	err = RemoveAll(root, []string{filepath.Join(root, "toetc", "passwd")})
	if err != nil {
		t.Errorf("removing through a link that leaves the root = %v, want nothing done and no error", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "passwd")); err != nil {
		t.Errorf("file outside the root was removed: %v", err)
	}

	for _, bad := range []string{root, outside, filepath.Join(root, "..", "etc"), "relative/x", root + "-old/x"} {
		if err := RemoveAll(root, []string{filepath.Join(root, "file"), bad}); !errors.Is(err, ErrOutsideTree) {
			t.Errorf("RemoveAll with %q = %v, want ErrOutsideTree", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "file")); err != nil {
		t.Errorf("a refused batch removed its valid paths: %v", err)
	}
}
