package main

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadStack loads the stack's Compose project as Compose would: from
// files, or by default discovery in the stack's folder when files is nil.
func loadStack(t *testing.T, s *stack, files []string) *types.Project {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(s.Dir, f))
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(s.Dir),
		cli.WithName(s.Project),
		cli.WithEnv([]string{"DEVD_NODE_IMAGE=node:test"}),
		cli.WithDefaultConfigPath,
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("loading the stack's project: %v", err)
	}
	return p
}

func newTestStack(t *testing.T, nodemonDir string) *stack {
	t.Helper()
	root, err := findRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newStack(root, t.TempDir(), "node:test", nodemonDir)
	if err != nil {
		t.Fatalf("newStack: %v", err)
	}
	return s
}

func TestNodemonSetupRunsAPIUnderNodemon(t *testing.T) {
	dir := "/home/someone/.cache/devd-bench/node mon"
	s := newTestStack(t, dir)
	p := loadStack(t, s, s.Files(setupNodemon))

	api := p.Services["api"]
	wantCmd := []string{"node", nodemonMount + "/node_modules/nodemon/bin/nodemon.js", "--verbose", "--inspect=0.0.0.0:9229", "server.js"}
	if !slices.Equal(api.Command, wantCmd) {
		t.Errorf("api command = %q, want %q", api.Command, wantCmd)
	}

	var nodemonMounted, sourceMounted bool
	for _, v := range api.Volumes {
		switch v.Target {
		case nodemonMount:
			nodemonMounted = v.Type == types.VolumeTypeBind && v.Source == dir && v.ReadOnly
		case "/usr/src/app":
			sourceMounted = v.Type == types.VolumeTypeBind && v.Source == filepath.Join(s.Dir, "api")
		}
	}
	if !nodemonMounted {
		t.Errorf("api volumes = %+v, want %s bind-mounted read-only at %s", api.Volumes, dir, nodemonMount)
	}
	if !sourceMounted {
		t.Errorf("api volumes = %+v, want the source still bind-mounted at /usr/src/app", api.Volumes)
	}
	if len(api.Ports) != 1 || api.Ports[0].Published != strconv.Itoa(s.Ports["api"]) || api.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("api ports = %+v, want only 127.0.0.1:%d", api.Ports, s.Ports["api"])
	}
	if got := p.Services["notification"].Command; !slices.Contains(got, "--inspect=0.0.0.0:9223") {
		t.Errorf("notification command = %q, want the example's own", got)
	}
}

func TestDefaultFilesLeaveNodemonOut(t *testing.T) {
	// devd up and plain devd find the Compose files by themselves: they
	// must not run api under nodemon.
	s := newTestStack(t, "/cache/nodemon")
	for _, files := range [][]string{nil, s.Files(setupCompose), s.Files(setupByTool)} {
		p := loadStack(t, s, files)
		api := p.Services["api"]
		if slices.ContainsFunc(api.Command, func(w string) bool { return filepath.Base(w) == "nodemon.js" }) {
			t.Errorf("files %q: api command = %q, want it without nodemon", files, api.Command)
		}
		if len(api.Develop.Watch) == 0 {
			t.Errorf("files %q: api has no develop.watch, want the benchmark's restart trigger", files)
		}
		if _, ok := p.Services["billing"]; ok {
			t.Errorf("files %q: billing is enabled, want it left in its profile", files)
		}
	}
}
