package up

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
)

func TestResolve(t *testing.T) {
	img := engine.ImageConfig{Entrypoint: []string{"docker-entrypoint.sh"}, Cmd: []string{"node"}}
	tests := []struct {
		name       string
		entrypoint types.ShellCommand
		command    types.ShellCommand
		img        engine.ImageConfig
		want       program
	}{
		{"image only", nil, nil, img, program{[]string{"docker-entrypoint.sh"}, []string{"node"}}},
		{"compose command replaces CMD", nil, types.ShellCommand{"node", "app.js"}, img, program{[]string{"docker-entrypoint.sh"}, []string{"node", "app.js"}}},
		{"compose entrypoint drops CMD", types.ShellCommand{"/app/run"}, nil, img, program{[]string{"/app/run"}, nil}},
		{"compose entrypoint and command", types.ShellCommand{"/app/run"}, types.ShellCommand{"-v"}, img, program{[]string{"/app/run"}, []string{"-v"}}},
		{"empty entrypoint clears the image's", types.ShellCommand{}, nil, img, program{nil, []string{"node"}}},
		{"image without entrypoint", nil, nil, engine.ImageConfig{Cmd: []string{"/server"}}, program{nil, []string{"/server"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolve(tt.entrypoint, tt.command, tt.img); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDebugWrapping(t *testing.T) {
	node := []compose.DebugPort{{Port: 9229, Runtime: "node"}}
	nodeBrk := []compose.DebugPort{{Port: 9229, Runtime: "node", Brk: true}}
	goPort := []compose.DebugPort{{Port: 2345, Runtime: "go"}}
	goBrk := []compose.DebugPort{{Port: 2345, Runtime: "go", Brk: true}}
	tests := []struct {
		name     string
		debug    []compose.DebugPort
		env      map[string]string
		in       program
		want     program
		wantNote string // part of the expected note; empty for none
	}{
		{
			name:  "node in the command",
			debug: node, in: program{nil, []string{"node", "server.js"}},
			want: program{nil, []string{"node", "--inspect=0.0.0.0:9229", "server.js"}},
		},
		{
			name:  "node after an entrypoint script",
			debug: node, in: program{[]string{"docker-entrypoint.sh"}, []string{"node", "server.js"}},
			want: program{[]string{"docker-entrypoint.sh"}, []string{"node", "--inspect=0.0.0.0:9229", "server.js"}},
		},
		{
			name:  "node by its path in the entrypoint",
			debug: nodeBrk, in: program{[]string{"/usr/local/bin/node"}, []string{"app.js"}},
			want: program{[]string{"/usr/local/bin/node", "--inspect-brk=0.0.0.0:9229"}, []string{"app.js"}},
		},
		{
			name:  "inspector already started",
			debug: node, in: program{nil, []string{"node", "--inspect=0.0.0.0:9229", "server.js"}},
			want: program{nil, []string{"node", "--inspect=0.0.0.0:9229", "server.js"}},
		},
		{
			name:  "shell script starting with node",
			debug: node, in: program{nil, []string{"sh", "-c", "exec node server.js"}},
			want: program{nil, []string{"sh", "-c", "exec node --inspect=0.0.0.0:9229 server.js"}},
		},
		{
			name:  "shell script with the inspector",
			debug: node, in: program{nil, []string{"sh", "-c", "node --inspect=0.0.0.0:9229 x.js"}},
			want: program{nil, []string{"sh", "-c", "node --inspect=0.0.0.0:9229 x.js"}},
		},
		{
			name:  "npm does not start node directly",
			debug: node, in: program{nil, []string{"npm", "start"}},
			want: program{nil, []string{"npm", "start"}}, wantNote: "does not start node directly",
		},
		{
			name:  "NODE_OPTIONS with the inspector",
			debug: node, env: map[string]string{"NODE_OPTIONS": "--inspect=0.0.0.0:9229"}, in: program{nil, []string{"node", "x.js"}},
			want: program{nil, []string{"node", "x.js"}}, wantNote: "remove --inspect from it",
		},
		{
			name:  "go program under delve",
			debug: goPort, in: program{nil, []string{"/app/server", "-v"}},
			want: program{nil, []string{"dlv", "exec", "/app/server", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--continue", "--", "-v"}},
		},
		{
			name:  "go program in the entrypoint, paused until a client attaches",
			debug: goBrk, in: program{[]string{"./server"}, []string{"-v"}},
			want: program{[]string{"dlv", "exec", "./server", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--"}, []string{"-v"}},
		},
		{
			name:  "delve already in the command",
			debug: goPort, in: program{nil, []string{"dlv", "exec", "/app/server", "--listen=:2345"}},
			want: program{nil, []string{"dlv", "exec", "/app/server", "--listen=:2345"}},
		},
		{
			name:  "go program started by a script",
			debug: goPort, in: program{[]string{"/entrypoint.sh"}, []string{"/app/server"}},
			want: program{[]string{"/entrypoint.sh"}, []string{"/app/server"}}, wantNote: "does not start the Go program by its path",
		},
		{
			name:  "go program found on PATH",
			debug: goPort, in: program{nil, []string{"server"}},
			want: program{nil, []string{"server"}}, wantNote: "dlv exec PROGRAM",
		},
		{
			name: "no debug entry",
			in:   program{nil, []string{"node", "x.js"}},
			want: program{nil, []string{"node", "x.js"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := compose.Service{Name: "api", Debug: tt.debug}
			sc := types.ServiceConfig{ContainerSpec: types.ContainerSpec{Environment: types.MappingWithEquals{}}}
			for k, v := range tt.env {
				sc.Environment[k] = &v
			}
			p := tt.in
			notes := append(p.debugNode(svc, sc), p.debugGo(svc)...)
			if !reflect.DeepEqual(p, tt.want) {
				t.Errorf("program = %q, want %q", p, tt.want)
			}
			switch {
			case tt.wantNote == "" && len(notes) > 0:
				t.Errorf("unexpected notes %q", notes)
			case tt.wantNote != "" && (len(notes) != 1 || !strings.Contains(notes[0], tt.wantNote)):
				t.Errorf("notes = %q, want one containing %q", notes, tt.wantNote)
			}
		})
	}
}

func TestPlanSupervisorArguments(t *testing.T) {
	no, yes := false, true
	svc := compose.Service{
		Name: "api", Watch: true, StopSignal: "SIGQUIT", StopGracePeriod: 1500 * time.Millisecond,
		Ready: "http://localhost:3000/health", Debug: []compose.DebugPort{{Port: 9229}},
		Triggers: []compose.Trigger{
			{Action: compose.ActionSyncRestart, Path: "/p/api/src", Target: "/app/src"},
			{Action: compose.ActionSync, Path: "/p/api/lib", Target: "/app/lib/"},
			{Action: compose.ActionSync, Path: "/p/api/again", Target: "/app/src"},
			{Action: compose.ActionRestart, Path: "/p/api/mounted", Target: "/app/mounted", BindMounted: true},
			{Action: compose.ActionSync, Path: "/p/api/mounted2", Target: "/app/mounted2", BindMounted: true},
			{Action: compose.ActionRestart, Path: "/p/api/config"},
		},
		Build: &compose.HostBuild{Output: "/p/api/bin/server", Target: "/app/server"},
	}
	sc := types.ServiceConfig{
		Name: "api",
		WorkloadSpec: types.WorkloadSpec{
			Expose: types.StringOrNumberList{"4000/tcp", "5000-5001", "6000/udp", "7000-9000"},
			Ports: []types.ServicePortConfig{
				{Target: 3000, Protocol: "tcp"}, {Target: 3001, Protocol: "udp"},
			},
		},
		ContainerSpec: types.ContainerSpec{Command: types.ShellCommand{"/app/server"}},
	}
	p := &types.Project{Name: "proj", Services: types.Services{"api": sc}}
	images := map[string]engine.ImageConfig{"api": {ExposedPorts: []int{3000, 8080}}}

	wraps, err := Plan(p, []compose.Service{svc}, images)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/.devd/devd-supervisor", "supervise", "--service", "api", "--stop-signal", "SIGQUIT", "--grace", "1.5s",
		"--port", "3000", "--port", "4000", "--port", "5000", "--port", "5001", "--port", "8080", "--port", "9229",
		"--ready", "http://localhost:3000/health",
		"--sync-root", "/app/src", "--sync-root", "/app/lib", "--sync-root", "/app/server", "--"}
	if len(wraps) != 1 || !reflect.DeepEqual(wraps[0].Entrypoint, want) || !reflect.DeepEqual(wraps[0].Command, []string{"/app/server"}) {
		t.Fatalf("wraps = %+v\nwant entrypoint %q", wraps, want)
	}

	for _, tt := range []struct {
		svc  compose.Service
		want bool
	}{
		{compose.Service{Watch: true}, true},
		{compose.Service{Watch: true, Supervise: &yes}, true},
		{compose.Service{Watch: true, Supervise: &no}, false},
		{compose.Service{Watch: false, Supervise: &yes}, false},
	} {
		if got := Supervised(tt.svc); got != tt.want {
			t.Errorf("Supervised(watch %v, supervise %v) = %v", tt.svc.Watch, tt.svc.Supervise, got)
		}
	}
	if got := ImageName("proj", types.ServiceConfig{Name: "api"}); got != "proj-api" {
		t.Errorf("default image name = %q, want proj-api", got)
	}
	if got := ImageName("proj", types.ServiceConfig{Name: "api", ContainerSpec: types.ContainerSpec{Image: "node:20"}}); got != "node:20" {
		t.Errorf("image name = %q, want node:20", got)
	}
}
