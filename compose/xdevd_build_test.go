package compose

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestParseExtensionBuild(t *testing.T) {
	runExtensionCases(t, []extensionCase{
		{
			name: "string command runs through sh",
			raw: map[string]any{"build": map[string]any{
				"command": "go build -o bin/server ./cmd/server",
				"output":  "bin/server",
				"target":  "/app/server",
			}},
			want: extension{present: true, build: &buildSpec{
				command: []string{"sh", "-c", "go build -o bin/server ./cmd/server"},
				output:  "bin/server",
				target:  "/app/server",
			}},
		},
		{
			name: "every key",
			raw: map[string]any{"build": map[string]any{
				"command": []any{"go", "build", "-o", "bin/server", "."},
				"workdir": "./server",
				"env":     map[string]any{"GOOS": "linux", "CGO_ENABLED": 0, "GOFLAGS": "-trimpath", "X": true},
				"watch":   []any{"./server", "go.mod"},
				"output":  "./server/bin/server",
				"target":  "/app/server",
			}},
			want: extension{present: true, build: &buildSpec{
				command: []string{"go", "build", "-o", "bin/server", "."},
				workdir: "./server",
				env:     []string{"CGO_ENABLED=0", "GOFLAGS=-trimpath", "GOOS=linux", "X=true"},
				watch:   []string{"./server", "go.mod"},
				output:  "./server/bin/server",
				target:  "/app/server",
			}},
		},
		{name: "not a mapping", raw: map[string]any{"build": "make"}, wantKey: "x-devd.build", wantMsg: "must be a mapping"},
		{name: "command missing", raw: map[string]any{"build": map[string]any{"output": "a", "target": "/a"}}, wantKey: "x-devd.build.command", wantMsg: "is required"},
		{name: "output missing", raw: map[string]any{"build": map[string]any{"command": "make", "target": "/a"}}, wantKey: "x-devd.build.output", wantMsg: "is required"},
		{name: "target missing", raw: map[string]any{"build": map[string]any{"command": "make", "output": "a"}}, wantKey: "x-devd.build.target", wantMsg: "is required"},
		{name: "relative target", raw: map[string]any{"build": map[string]any{"command": "make", "output": "a", "target": "app/a"}}, wantKey: "x-devd.build.target", wantMsg: "must be an absolute container path"},
		{name: "empty command string", raw: map[string]any{"build": map[string]any{"command": " ", "output": "a", "target": "/a"}}, wantKey: "x-devd.build.command", wantMsg: "must not be empty"},
		{name: "empty command list", raw: map[string]any{"build": map[string]any{"command": []any{}, "output": "a", "target": "/a"}}, wantKey: "x-devd.build.command", wantMsg: "must not be empty"},
		{name: "command list with a number", raw: map[string]any{"build": map[string]any{"command": []any{"make", 3}, "output": "a", "target": "/a"}}, wantKey: "x-devd.build.command[1]", wantMsg: "must be a string"},
		{name: "command of the wrong type", raw: map[string]any{"build": map[string]any{"command": true, "output": "a", "target": "/a"}}, wantKey: "x-devd.build.command", wantMsg: "must be a string or a list"},
		{name: "env as a list", raw: map[string]any{"build": map[string]any{"command": "make", "output": "a", "target": "/a", "env": []any{"A=1"}}}, wantKey: "x-devd.build.env", wantMsg: "must be a mapping"},
		{name: "env value a mapping", raw: map[string]any{"build": map[string]any{"command": "make", "output": "a", "target": "/a", "env": map[string]any{"A": map[string]any{}}}}, wantKey: "x-devd.build.env.A", wantMsg: "must be a string, a number or a boolean"},
		{name: "watch as a string", raw: map[string]any{"build": map[string]any{"command": "make", "output": "a", "target": "/a", "watch": "./src"}}, wantKey: "x-devd.build.watch", wantMsg: "must be a non-empty list"},
		{name: "watch entry empty", raw: map[string]any{"build": map[string]any{"command": "make", "output": "a", "target": "/a", "watch": []any{""}}}, wantKey: "x-devd.build.watch[0]", wantMsg: "must be a non-empty path"},
		{name: "unknown key", raw: map[string]any{"build": map[string]any{"command": "make", "output": "a", "target": "/a", "args": "x"}}, wantKey: "x-devd.build.args", wantMsg: "the known keys are command, env, output, target, watch, workdir"},
	})
}

func TestDeriveHostBuild(t *testing.T) {
	f := newFixture(t)
	mustWrite(t, f.path("server/go.mod"), "module x\n")
	mustWrite(t, f.path("server/main.go"), "package main\n")

	svc := types.ServiceConfig{
		Name:          "server",
		ContainerSpec: types.ContainerSpec{Image: "alpine", Volumes: []types.ServiceVolumeConfig{bind(f.path("server"), "/src")}},
		Extensions: types.Extensions{"x-devd": map[string]any{
			"build": map[string]any{
				"command": "go build -o bin/server .",
				"workdir": "server",
				"env":     map[string]any{"CGO_ENABLED": "0"},
				"output":  "server/bin/server",
				"target":  "/app//server",
			},
		}},
	}
	services, _, err := Derive(f.project(svc), nil, noIgnore)
	if err != nil {
		t.Fatal(err)
	}
	got := services[0]
	want := &HostBuild{
		Command: []string{"sh", "-c", "go build -o bin/server ."},
		Dir:     f.path("server"),
		Env:     []string{"CGO_ENABLED=0"},
		Watch:   []string{f.path("server")},
		Output:  f.path("server/bin/server"),
		Target:  "/app/server",
	}
	if !reflect.DeepEqual(got.Build, want) {
		t.Errorf("build = %+v, want %+v", got.Build, want)
	}
	// The bind mount of ./server is not a trigger of its own: only the
	// build restarts the service, and the artifact does not start it again.
	wantTriggers := []Trigger{{
		Source: SourceHostBuild, Action: ActionHostBuild, Path: f.path("server"),
		Ignore: []string{"bin/server", "bin/server-*", "bin/server.*", "bin/server~", "bin"},
	}}
	if !got.Watch || !reflect.DeepEqual(got.Triggers, wantTriggers) {
		t.Errorf("watch %v, triggers %+v; want %+v", got.Watch, got.Triggers, wantTriggers)
	}
	if !ActionHostBuild.Builds() || ActionHostBuild.Restarts() || ActionHostBuild.Syncs() {
		t.Error("ActionHostBuild must build, and neither restart at once nor sync")
	}
}

func TestDeriveHostBuildWithDevelopWatch(t *testing.T) {
	f := newFixture(t)
	mustWrite(t, f.path("go.mod"), "module x\n")
	svc := types.ServiceConfig{
		Name:          "server",
		ContainerSpec: types.ContainerSpec{Image: "alpine"},
		Develop: &types.DevelopConfig{Watch: []types.Trigger{
			{Path: f.path("web/public"), Action: types.WatchActionSync, Target: "/app/public"},
		}},
		Extensions: types.Extensions{"x-devd": map[string]any{
			"build": map[string]any{
				"command": []any{"make"},
				"watch":   []any{"go.mod", f.path("apiapp")},
				"output":  "bin/server",
				"target":  "/app/server",
			},
		}},
	}
	services, _, err := Derive(f.project(svc), nil, noIgnore)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range services[0].Triggers {
		got = append(got, string(tr.Source)+" "+tr.Path)
	}
	want := []string{
		"develop.watch " + f.path("web/public"),
		"x-devd.build " + f.path("go.mod"),
		"x-devd.build " + f.path("apiapp"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("triggers = %q, want %q", got, want)
	}
	if b := services[0].Build; b.Dir != f.dir || !reflect.DeepEqual(b.Watch, []string{f.path("go.mod"), f.path("apiapp")}) {
		t.Errorf("build dir %q watch %q", b.Dir, b.Watch)
	}
}

func TestDeriveHostBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		build map[string]any
		key   string
		msg   string // PROJ stands for the project folder
	}{
		{
			name:  "watched path missing",
			build: map[string]any{"command": "make", "output": "bin/x", "target": "/x", "watch": []any{"apiapp", "nope"}},
			key:   "x-devd.build.watch[1]",
			msg:   "PROJ/nope does not exist",
		},
		{
			name:  "workdir missing",
			build: map[string]any{"command": "make", "output": "bin/x", "target": "/x", "workdir": "nope"},
			key:   "x-devd.build.workdir",
			msg:   "PROJ/nope is not a folder",
		},
		{
			name:  "output is a watched path",
			build: map[string]any{"command": "make", "output": "config.json", "target": "/x", "watch": []any{"config.json"}},
			key:   "x-devd.build.watch[0]",
			msg:   "is the build output",
		},
		{
			name:  "output is the build folder",
			build: map[string]any{"command": "make", "output": ".", "target": "/x"},
			key:   "x-devd.build.output",
			msg:   "must name the artifact file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			svc := types.ServiceConfig{
				Name:          "server",
				ContainerSpec: types.ContainerSpec{Image: "alpine"},
				Extensions:    types.Extensions{"x-devd": map[string]any{"build": tt.build}},
			}
			_, _, err := Derive(f.project(svc), nil, noIgnore)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *ConfigError", err)
			}
			if ce.Service != "server" || ce.Key != tt.key || !strings.Contains(ce.Message, strings.ReplaceAll(tt.msg, "PROJ", f.dir)) {
				t.Errorf("error = %v, want key %s and %q", ce, tt.key, tt.msg)
			}
		})
	}
}

func TestDeriveServiceKeys(t *testing.T) {
	f := newFixture(t)
	no := false
	svc := types.ServiceConfig{
		Name: "api",
		ContainerSpec: types.ContainerSpec{
			Image:   "node",
			Volumes: []types.ServiceVolumeConfig{bind(f.path("apiapp"), "/app")},
		},
		Extensions: types.Extensions{"x-devd": map[string]any{
			"ready": "tcp:3000", "user": "1000:1000", "poll": "2s",
			"gitignore": true, "debug_wait": true, "supervise": false,
		}},
	}
	services, _, err := Derive(f.project(svc), nil, noIgnore)
	if err != nil {
		t.Fatal(err)
	}
	got := services[0]
	if got.Ready != "tcp:3000" || got.SyncUser != "1000:1000" || got.Poll.String() != "2s" ||
		!got.Gitignore || !got.DebugWait || !reflect.DeepEqual(got.Supervise, &no) {
		t.Errorf("service = %+v", got)
	}
	if got.RestartSet || got.Restart.Kind != RestartContainer {
		t.Errorf("restart = %v (set %v), want the container default, not set", got.Restart, got.RestartSet)
	}
}
