package compose

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// fixture is a project folder on disk, because Derive resolves symbolic
// links and stats bind mount sources.
type fixture struct {
	dir     string // project directory
	outside string // a folder outside the project
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{dir: filepath.Join(root, "proj"), outside: filepath.Join(root, "shared")}
	for _, d := range []string{"apiapp/node_modules", "apiapp/src/lib", "notif", "web/public", "shared"} {
		mustMkdir(t, filepath.Join(f.dir, d))
	}
	mustMkdir(t, f.outside)
	mustWrite(t, filepath.Join(f.dir, "config.json"), "{}")
	mustWrite(t, filepath.Join(f.dir, "apiapp/package.json"), "{}")
	mustWrite(t, filepath.Join(f.dir, "compose.yaml"), "services: {}\n")
	return f
}

func (f fixture) path(rel string) string { return filepath.Join(f.dir, rel) }

func (f fixture) project(services ...types.ServiceConfig) *types.Project {
	p := &types.Project{
		Name:         "proj",
		WorkingDir:   f.dir,
		Services:     types.Services{},
		ComposeFiles: []string{f.path("compose.yaml")},
	}
	for _, s := range services {
		p.Services[s.Name] = s
	}
	return p
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, file, content string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(file))
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func bind(source, target string) types.ServiceVolumeConfig {
	return types.ServiceVolumeConfig{Type: types.VolumeTypeBind, Source: source, Target: target}
}

func anonVolume(target string) types.ServiceVolumeConfig {
	return types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Target: target}
}

// defaults returns a Service with the values every service gets when it
// sets nothing.
func defaults(name string) Service {
	return Service{
		Name:            name,
		Restart:         RestartMode{Kind: RestartContainer},
		StopSignal:      "SIGTERM",
		StopGracePeriod: 10 * time.Second,
	}
}

// noIgnore is a readIgnore for projects without .dockerignore files.
func noIgnore(string) ([]string, error) { return nil, nil }

func TestDerive(t *testing.T) {
	grace := types.Duration(3 * time.Second)
	tests := []struct {
		name     string
		services func(f fixture) []types.ServiceConfig
		selected []string
		want     func(f fixture) []Service
		warnings []string // parts of the expected warnings, in order
	}{
		{
			name: "built service watches bind-mounted project folders",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "api",
					WorkloadSpec: types.WorkloadSpec{
						Build: &types.BuildConfig{Context: f.path("apiapp"), Dockerfile: "Dockerfile"},
						Ports: []types.ServicePortConfig{{Target: 3000, Published: "3000"}, {Target: 9229, HostIP: "127.0.0.1", Published: "19229-19230"}},
					},
					ContainerSpec: types.ContainerSpec{
						User: "node",
						Volumes: []types.ServiceVolumeConfig{
							bind(f.path("apiapp"), "/usr/src/app"),
							anonVolume("/usr/src/app/node_modules"),
							bind(f.path("config.json"), "/etc/app/config.json"),
							bind("/var/run/docker.sock", "/var/run/docker.sock"),
							bind(f.outside, "/shared"),
						},
					},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.Watch = true
				s.User = "node"
				s.BuildContext = f.path("apiapp")
				s.Ports = []PublishedPort{{Target: 3000, Published: 3000}, {Target: 9229, HostIP: "127.0.0.1", Published: 19229}}
				s.Triggers = []Trigger{{
					Source: SourceBindMount, Index: 0, Action: ActionRestart,
					Path: f.path("apiapp"), Target: "/usr/src/app", BindMounted: true,
					Hidden: []string{f.path("apiapp/node_modules")},
				}}
				return []Service{s}
			},
		},
		{
			name: "plain image service left alone",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "db",
					ContainerSpec: types.ContainerSpec{
						Image:   "mysql:8",
						Volumes: []types.ServiceVolumeConfig{bind(f.path("shared"), "/docker-entrypoint-initdb.d")},
					},
				}}
			},
			want: func(f fixture) []Service { return []Service{defaults("db")} },
		},
		{
			name: "shell command debug port enables watching",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "notification",
					ContainerSpec: types.ContainerSpec{
						Image:   "node:20",
						Command: types.ShellCommand{"sh", "-c", "node --inspect=0.0.0.0:9223 index.js"},
						Volumes: []types.ServiceVolumeConfig{bind(f.path("notif"), "/app")},
					},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("notification")
				s.Watch = true
				s.Triggers = []Trigger{{Source: SourceBindMount, Action: ActionRestart, Path: f.path("notif"), Target: "/app", BindMounted: true}}
				s.Debug = []DebugPort{{Port: 9223, Runtime: "node", Detected: true}}
				return []Service{s}
			},
		},
		{
			name: "empty x-devd enables watching",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "web",
					ContainerSpec: types.ContainerSpec{
						Image:   "nginx",
						Volumes: []types.ServiceVolumeConfig{bind(f.path("web/public"), "/usr/share/nginx/html")},
					},
					Extensions: types.Extensions{"x-devd": nil},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("web")
				s.Watch = true
				s.Triggers = []Trigger{{Source: SourceBindMount, Action: ActionRestart, Path: f.path("web/public"), Target: "/usr/share/nginx/html", BindMounted: true}}
				return []Service{s}
			},
		},
		{
			name: "x-devd watch false wins over build",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name:         "api",
					WorkloadSpec: types.WorkloadSpec{Build: &types.BuildConfig{Context: f.path("apiapp")}},
					ContainerSpec: types.ContainerSpec{
						Volumes: []types.ServiceVolumeConfig{bind(f.path("apiapp"), "/app")},
					},
					Extensions: types.Extensions{"x-devd": map[string]any{"watch": false}},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.BuildContext = f.path("apiapp")
				s.WatchOff = true
				return []Service{s}
			},
		},
		{
			name: "watch true without mounts warns",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name:          "worker",
					ContainerSpec: types.ContainerSpec{Image: "busybox"},
					Extensions:    types.Extensions{"x-devd": map[string]any{"watch": true}},
				}}
			},
			want:     func(f fixture) []Service { return []Service{defaults("worker")} },
			warnings: []string{`service "worker": x-devd.watch is true but there is nothing to watch`},
		},
		{
			name: "restart and stop settings",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "api",
					ContainerSpec: types.ContainerSpec{
						Image:           "node",
						StopSignal:      "INT",
						StopGracePeriod: &grace,
						Volumes:         []types.ServiceVolumeConfig{bind(f.path("apiapp"), "/app")},
					},
					Extensions: types.Extensions{"x-devd": map[string]any{"restart": "signal:SIGUSR2"}},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.Watch = true
				s.Restart = RestartMode{Kind: RestartSignal, Signal: "SIGUSR2"}
				s.RestartSet = true
				s.StopSignal = "SIGINT"
				s.StopGracePeriod = 3 * time.Second
				s.Triggers = []Trigger{{Source: SourceBindMount, Action: ActionRestart, Path: f.path("apiapp"), Target: "/app", BindMounted: true}}
				return []Service{s}
			},
		},
		{
			name: "declared debug ports win, sorted",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "api",
					ContainerSpec: types.ContainerSpec{
						Image:      "node",
						Entrypoint: types.ShellCommand{"docker-entrypoint.sh"},
						Command:    types.ShellCommand{"node", "--inspect=0.0.0.0:9229", "server.js"},
					},
					Extensions: types.Extensions{"x-devd": map[string]any{"debug": []any{
						map[string]any{"port": 9300, "runtime": "go"},
						map[string]any{"port": 9229, "listen": "127.0.0.1:19229"},
					}}},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.Watch = true
				s.Debug = []DebugPort{
					{Port: 9229, Runtime: "node", Listen: "127.0.0.1:19229"},
					{Port: 9300, Runtime: "go"},
				}
				return []Service{s}
			},
		},
		{
			name: "loopback debugger is flagged",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "api",
					ContainerSpec: types.ContainerSpec{
						Image:   "node",
						Command: types.ShellCommand{"node", "--inspect", "server.js"},
					},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.Watch = true
				s.Debug = []DebugPort{{Port: 9229, Runtime: "node", Detected: true, LoopbackOnly: true}}
				return []Service{s}
			},
			warnings: []string{`service "api": --inspect makes the debugger listen on 127.0.0.1 inside the container, which the host cannot reach: use --inspect=0.0.0.0:9229`},
		},
		{
			name: "develop.watch replaces the bind-mount triggers",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "api",
					ContainerSpec: types.ContainerSpec{
						Image: "node",
						Volumes: []types.ServiceVolumeConfig{
							bind(f.path("apiapp/src"), "/app/src"),
							anonVolume("/srv/node_modules"),
						},
					},
					Develop: &types.DevelopConfig{Watch: []types.Trigger{
						{Path: f.path("web"), Action: types.WatchActionSync, Target: "/srv/", Ignore: []string{"*.tmp"}, Include: []string{"*.js"}},
						{Path: f.path("apiapp/package.json"), Action: types.WatchActionRebuild},
						{Path: f.path("apiapp/src"), Action: types.WatchActionSyncRestart, Target: "/app/src/"},
						{Path: f.path("config.json"), Action: types.WatchActionRestart},
						{Path: f.path("apiapp"), Action: types.WatchActionSyncExec, Target: "/app",
							Exec: types.ServiceHook{Command: types.ShellCommand{"npm", "run", "gen"}, User: "node"}},
						{Path: f.path("apiapp/src/lib"), Action: types.WatchActionSync, Target: "/app/src/lib"},
					}},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.Watch = true
				s.Triggers = []Trigger{
					{Source: SourceDevelopWatch, Index: 0, Action: ActionSync, Path: f.path("web"), Target: "/srv",
						Ignore: []string{"*.tmp"}, Include: []string{"*.js"}, Hidden: []string{f.path("web/node_modules")}},
					{Source: SourceDevelopWatch, Index: 1, Action: ActionRebuild, Path: f.path("apiapp/package.json")},
					{Source: SourceDevelopWatch, Index: 2, Action: ActionSyncRestart, Path: f.path("apiapp/src"), Target: "/app/src", BindMounted: true},
					{Source: SourceDevelopWatch, Index: 3, Action: ActionRestart, Path: f.path("config.json")},
					{Source: SourceDevelopWatch, Index: 4, Action: ActionSyncExec, Path: f.path("apiapp"), Target: "/app",
						Mounted: []string{f.path("apiapp/src")},
						Exec:    &ExecHook{Command: []string{"npm", "run", "gen"}, User: "node"}},
					{Source: SourceDevelopWatch, Index: 5, Action: ActionSync, Path: f.path("apiapp/src/lib"), Target: "/app/src/lib", BindMounted: true},
				}
				return []Service{s}
			},
		},
		{
			name: "restart trigger inside bind source",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name: "api",
					ContainerSpec: types.ContainerSpec{
						Image:   "node",
						Volumes: []types.ServiceVolumeConfig{bind(f.path("apiapp"), "/app")},
					},
					Develop: &types.DevelopConfig{Watch: []types.Trigger{
						{Path: f.path("apiapp/src"), Action: types.WatchActionRestart},
						{Path: f.path("apiapp/src"), Action: types.WatchActionSync, Target: "/elsewhere"},
					}},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.Watch = true
				s.Triggers = []Trigger{
					{Source: SourceDevelopWatch, Index: 0, Action: ActionRestart, Path: f.path("apiapp/src"), BindMounted: true},
					{Source: SourceDevelopWatch, Index: 1, Action: ActionSync, Path: f.path("apiapp/src"), Target: "/elsewhere"},
				}
				return []Service{s}
			},
		},
		{
			name: "nested mounts hide host folders",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name:         "api",
					WorkloadSpec: types.WorkloadSpec{Build: &types.BuildConfig{Context: f.path("apiapp")}},
					ContainerSpec: types.ContainerSpec{
						Tmpfs: types.StringList{"/app/tmp:size=64m"},
						Volumes: []types.ServiceVolumeConfig{
							bind(f.path("apiapp"), "/app"),
							{Type: types.VolumeTypeVolume, Source: "modules", Target: "/app/node_modules/"},
							bind(f.path("apiapp/src"), "/app/src"),
							bind(f.path("shared"), "/app/shared"),
						},
					},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.Watch = true
				s.BuildContext = f.path("apiapp")
				s.Triggers = []Trigger{
					{Source: SourceBindMount, Index: 0, Action: ActionRestart, Path: f.path("apiapp"), Target: "/app", BindMounted: true,
						Hidden:  []string{f.path("apiapp/node_modules"), f.path("apiapp/shared"), f.path("apiapp/tmp")},
						Mounted: []string{f.path("apiapp/src")}},
					{Source: SourceBindMount, Index: 2, Action: ActionRestart, Path: f.path("apiapp/src"), Target: "/app/src", BindMounted: true},
					{Source: SourceBindMount, Index: 3, Action: ActionRestart, Path: f.path("shared"), Target: "/app/shared", BindMounted: true},
				}
				return []Service{s}
			},
		},
		{
			name: "missing bind source warns",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name:         "api",
					WorkloadSpec: types.WorkloadSpec{Build: &types.BuildConfig{Context: f.path("apiapp")}},
					ContainerSpec: types.ContainerSpec{
						Volumes: []types.ServiceVolumeConfig{bind(f.path("missing"), "/app")},
					},
				}}
			},
			want: func(f fixture) []Service {
				s := defaults("api")
				s.BuildContext = f.path("apiapp")
				return []Service{s}
			},
			warnings: []string{`service "api": volumes[0]: bind mount source ` + "PROJ/missing cannot be read and is not watched"},
		},
		{
			name: "remote build context has no local folder",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name:         "api",
					WorkloadSpec: types.WorkloadSpec{Build: &types.BuildConfig{Context: "https://github.com/example/app.git#main"}},
				}}
			},
			want: func(f fixture) []Service { return []Service{defaults("api")} },
		},
		{
			name: "selected services sorted",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{
					{Name: "web", ContainerSpec: types.ContainerSpec{Image: "nginx"}},
					{Name: "api", ContainerSpec: types.ContainerSpec{Image: "node"}},
					{Name: "db", ContainerSpec: types.ContainerSpec{Image: "mysql"}},
				}
			},
			selected: []string{"web", "api", "web"},
			want: func(f fixture) []Service {
				return []Service{defaults("api"), defaults("web")}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			got, warnings, err := Derive(f.project(tt.services(f)...), tt.selected, noIgnore)
			if err != nil {
				t.Fatalf("Derive: %v", err)
			}
			want := tt.want(f)
			// Command repeats the input; other tests check it.
			for i := range got {
				got[i].Command = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("services differ\n got: %+v\nwant: %+v", got, want)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				w = strings.ReplaceAll(w, "PROJ", f.dir)
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i], w)
				}
			}
		})
	}
}

func TestDeriveResolvesSymlinks(t *testing.T) {
	f := newFixture(t)
	link := filepath.Join(filepath.Dir(f.dir), "link")
	if err := os.Symlink(f.dir, link); err != nil {
		t.Fatal(err)
	}
	// The project is reached through a link, the bind source through the
	// real path: they still compare equal.
	p := f.project(types.ServiceConfig{
		Name:         "api",
		WorkloadSpec: types.WorkloadSpec{Build: &types.BuildConfig{Context: filepath.Join(link, "apiapp")}},
		ContainerSpec: types.ContainerSpec{Volumes: []types.ServiceVolumeConfig{
			bind(f.path("apiapp"), "/app"),
			bind(filepath.Join(link, "notif"), "/notif"),
		}},
	})
	p.WorkingDir = link

	got, _, err := Derive(p, nil, noIgnore)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Triggers) != 2 {
		t.Fatalf("got %+v, want one service with two triggers", got)
	}
	if got[0].BuildContext != f.path("apiapp") {
		t.Errorf("BuildContext = %s, want %s", got[0].BuildContext, f.path("apiapp"))
	}
	for i, want := range []string{f.path("apiapp"), f.path("notif")} {
		if got[0].Triggers[i].Path != want {
			t.Errorf("trigger %d path = %s, want %s", i, got[0].Triggers[i].Path, want)
		}
	}
}

func TestDeriveDockerignore(t *testing.T) {
	tests := []struct {
		name       string
		build      func(f fixture) *types.BuildConfig
		files      map[string][]string // relative to the project
		want       []string
		wantReadOf []string
	}{
		{
			name: "dockerfile-specific file wins",
			build: func(f fixture) *types.BuildConfig {
				return &types.BuildConfig{Context: f.path("apiapp"), Dockerfile: "docker/dev.Dockerfile"}
			},
			files:      map[string][]string{"apiapp/docker/dev.Dockerfile.dockerignore": {"dist"}, "apiapp/.dockerignore": {"node_modules"}},
			want:       []string{"dist"},
			wantReadOf: []string{"apiapp/docker/dev.Dockerfile.dockerignore"},
		},
		{
			name: "context file as fallback",
			build: func(f fixture) *types.BuildConfig {
				return &types.BuildConfig{Context: f.path("apiapp"), Dockerfile: "Dockerfile"}
			},
			files:      map[string][]string{"apiapp/.dockerignore": {"node_modules", "*.log"}},
			want:       []string{"node_modules", "*.log"},
			wantReadOf: []string{"apiapp/Dockerfile.dockerignore", "apiapp/.dockerignore"},
		},
		{
			name: "inline dockerfile uses the context file",
			build: func(f fixture) *types.BuildConfig {
				return &types.BuildConfig{Context: f.path("apiapp"), DockerfileInline: "FROM scratch"}
			},
			files:      map[string][]string{"apiapp/.dockerignore": {"tmp"}},
			want:       []string{"tmp"},
			wantReadOf: []string{"apiapp/.dockerignore"},
		},
		{
			name: "no ignore file",
			build: func(f fixture) *types.BuildConfig {
				return &types.BuildConfig{Context: f.path("apiapp"), Dockerfile: "Dockerfile"}
			},
			wantReadOf: []string{"apiapp/Dockerfile.dockerignore", "apiapp/.dockerignore"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var read []string
			readIgnore := func(path string) ([]string, error) {
				rel, _ := filepath.Rel(f.dir, path)
				read = append(read, rel)
				return tt.files[rel], nil
			}
			got, _, err := Derive(f.project(types.ServiceConfig{Name: "api", WorkloadSpec: types.WorkloadSpec{Build: tt.build(f)}}), nil, readIgnore)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[0].DockerignorePatterns, tt.want) {
				t.Errorf("patterns = %q, want %q", got[0].DockerignorePatterns, tt.want)
			}
			if !reflect.DeepEqual(read, tt.wantReadOf) {
				t.Errorf("read %q, want %q", read, tt.wantReadOf)
			}
		})
	}
}

func TestDeriveErrors(t *testing.T) {
	tests := []struct {
		name     string
		services func(f fixture) []types.ServiceConfig
		disabled []types.ServiceConfig
		selected []string
		want     ConfigError // Message is matched as a part
	}{
		{
			name: "missing develop.watch path",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name:          "api",
					ContainerSpec: types.ContainerSpec{Image: "node"},
					Develop: &types.DevelopConfig{Watch: []types.Trigger{
						{Path: f.path("apiapp"), Action: types.WatchActionRestart},
						{Path: f.path("nope"), Action: types.WatchActionSync, Target: "/app"},
					}},
				}}
			},
			want: ConfigError{File: "compose.yaml", Service: "api", Key: "develop.watch[1].path", Message: "PROJ/nope does not exist"},
		},
		{
			name: "invalid x-devd",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{
					Name:          "api",
					ContainerSpec: types.ContainerSpec{Image: "node"},
					Extensions:    types.Extensions{"x-devd": map[string]any{"restart": "sometimes"}},
				}}
			},
			want: ConfigError{File: "compose.yaml", Service: "api", Key: "x-devd.restart", Message: `invalid value "sometimes": use process, container, signal:SIGNAL or none`},
		},
		{
			name: "unknown services",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{Name: "api"}, {Name: "db"}}
			},
			disabled: []types.ServiceConfig{{Name: "worker", Profiles: []string{"jobs"}}},
			selected: []string{"api", "wrk", "apj"},
			want:     ConfigError{Message: `unknown services "wrk", "apj"; the project's services are api, db (and worker in profiles not enabled)`},
		},
		{
			name: "service in a profile not enabled",
			services: func(f fixture) []types.ServiceConfig {
				return []types.ServiceConfig{{Name: "api"}}
			},
			disabled: []types.ServiceConfig{{Name: "worker", Profiles: []string{"jobs"}}},
			selected: []string{"worker"},
			want:     ConfigError{Message: `service "worker" is in profile "jobs", which is not enabled: pass --profile jobs or set COMPOSE_PROFILES=jobs`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p := f.project(tt.services(f)...)
			if len(tt.disabled) > 0 {
				p.DisabledServices = types.Services{}
				for _, s := range tt.disabled {
					p.DisabledServices[s.Name] = s
				}
			}
			_, _, err := Derive(p, tt.selected, noIgnore)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *ConfigError", err)
			}
			where := ConfigError{File: ce.File, Service: ce.Service, Key: ce.Key}
			if want := (ConfigError{File: tt.want.File, Service: tt.want.Service, Key: tt.want.Key}); where != want {
				t.Errorf("error at %+v, want %+v", where, want)
			}
			if msg := strings.ReplaceAll(tt.want.Message, "PROJ", f.dir); !strings.Contains(ce.Message, msg) {
				t.Errorf("message = %q, want it to contain %q", ce.Message, msg)
			}
		})
	}
}

func TestDeriveWarnsAboutTopLevelExtension(t *testing.T) {
	f := newFixture(t)
	p := f.project()
	p.Extensions = types.Extensions{"x-devd": map[string]any{"watch": true}}
	_, warnings, err := Derive(p, nil, noIgnore)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "x-devd at the top level of the Compose file is ignored") {
		t.Fatalf("warnings = %q", warnings)
	}
}

func TestConfigErrorText(t *testing.T) {
	err := &ConfigError{File: "compose.yaml", Service: "api", Key: "x-devd.restart", Message: `invalid value "sometimes": use process, container, signal:SIGNAL or none`}
	want := `compose.yaml: service "api": x-devd.restart: invalid value "sometimes": use process, container, signal:SIGNAL or none`
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	cause := errors.New("cause")
	if got := (&ConfigError{Err: cause}).Error(); got != "cause" {
		t.Fatalf("Error() without message = %q, want the cause's text", got)
	}
	if !errors.Is(&ConfigError{Message: "x", Err: cause}, cause) {
		t.Fatal("ConfigError does not unwrap to its cause")
	}
}

func TestDeriveKeepsCommand(t *testing.T) {
	f := newFixture(t)
	got, _, err := Derive(f.project(types.ServiceConfig{
		Name: "api",
		ContainerSpec: types.ContainerSpec{
			Image:      "app",
			Entrypoint: types.ShellCommand{"dlv", "exec", "/app/server"},
			Command:    types.ShellCommand{"--headless", "--listen=:2345"},
		},
	}), nil, noIgnore)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dlv", "exec", "/app/server", "--headless", "--listen=:2345"}
	if !reflect.DeepEqual(got[0].Command, want) {
		t.Errorf("Command = %q, want %q", got[0].Command, want)
	}
}
