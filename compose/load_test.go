package compose

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"
)

// tempProject writes files (relative path to content) into a new folder
// and returns the folder, with symbolic links resolved.
func tempProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if strings.HasSuffix(name, "/") {
			mustMkdir(t, filepath.Join(dir, name))
			continue
		}
		mustWrite(t, filepath.Join(dir, name), content)
	}
	return dir
}

// load calls Load with an empty environment unless the test gives one, so
// the machine's COMPOSE_* variables never leak into a test.
func load(t *testing.T, opts Options) (*Project, error) {
	t.Helper()
	if opts.Environ == nil {
		opts.Environ = []string{}
	}
	return Load(context.Background(), opts, hclog.NewNullLogger())
}

func mustLoad(t *testing.T, opts Options) *Project {
	t.Helper()
	p, err := load(t, opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func serviceNames(p *Project) []string {
	var names []string
	for _, s := range p.Services {
		names = append(names, s.Name)
	}
	return names
}

func findService(t *testing.T, p *Project, name string) Service {
	t.Helper()
	for _, s := range p.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("service %q not loaded; have %q", name, serviceNames(p))
	return Service{}
}

const apiCompose = `
services:
  api:
    build: ./apiapp
    command: sh -c "node --inspect=0.0.0.0:9229 x.js"
    volumes:
      - ./apiapp:/usr/src/app
      - /usr/src/app/node_modules
  db:
    image: mysql:8
`

func TestLoadDefaultFile(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml":          apiCompose,
		"apiapp/node_modules/":  "",
		"apiapp/server.js":      "",
		"apiapp/.dockerignore":  "node_modules\n# comment\n*.log\n",
		"compose.override.yaml": "services:\n  db:\n    environment: [A=1]\n",
	})
	p := mustLoad(t, Options{WorkingDir: dir})

	if p.Name != strings.ToLower(filepath.Base(dir)) {
		t.Errorf("name = %q, want the folder's name", p.Name)
	}
	if p.WorkingDir != dir {
		t.Errorf("working dir = %q, want %q", p.WorkingDir, dir)
	}
	wantFiles := []string{filepath.Join(dir, "compose.yaml"), filepath.Join(dir, "compose.override.yaml")}
	if !reflect.DeepEqual(p.ConfigFiles, wantFiles) {
		t.Errorf("ConfigFiles = %q, want %q", p.ConfigFiles, wantFiles)
	}
	if !reflect.DeepEqual(serviceNames(p), []string{"api", "db"}) {
		t.Errorf("services = %q", serviceNames(p))
	}

	api := findService(t, p, "api")
	want := []Trigger{{
		Source: SourceBindMount, Action: ActionRestart,
		Path: filepath.Join(dir, "apiapp"), Target: "/usr/src/app", BindMounted: true,
		Hidden: []string{filepath.Join(dir, "apiapp/node_modules")},
	}}
	if !api.Watch || !reflect.DeepEqual(api.Triggers, want) {
		t.Errorf("api: watch %v, triggers %+v; want %+v", api.Watch, api.Triggers, want)
	}
	if wantDebug := []DebugPort{{Port: 9229, Runtime: "node", Detected: true}}; !reflect.DeepEqual(api.Debug, wantDebug) {
		t.Errorf("api debug = %+v, want %+v", api.Debug, wantDebug)
	}
	if api.BuildContext != filepath.Join(dir, "apiapp") {
		t.Errorf("api build context = %q", api.BuildContext)
	}
	if !reflect.DeepEqual(api.DockerignorePatterns, []string{"node_modules", "*.log"}) {
		t.Errorf("api dockerignore = %q", api.DockerignorePatterns)
	}
	if db := findService(t, p, "db"); db.Watch {
		t.Errorf("db is watched: %+v", db)
	}
}

func TestLoadFindsFileInParentFolder(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"docker-compose.yml": apiCompose,
		"apiapp/src/":        "",
	})
	p := mustLoad(t, Options{WorkingDir: filepath.Join(dir, "apiapp", "src")})
	if p.WorkingDir != dir || !reflect.DeepEqual(p.ConfigFiles, []string{filepath.Join(dir, "docker-compose.yml")}) {
		t.Fatalf("loaded %q from %q, want the parent's file", p.ConfigFiles, p.WorkingDir)
	}
}

func TestLoadFileFlag(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml":       "services:\n  ignored:\n    image: x\n",
		"dev/base.yaml":      "services:\n  api:\n    image: node\n",
		"dev/overlay.yaml":   "services:\n  api:\n    x-devd:\n      restart: none\n",
		"elsewhere/.keep":    "",
		"dev/nested/.keep":   "",
		"dev/notacompose/x":  "",
		"dev/notacompose/.k": "",
	})
	p := mustLoad(t, Options{WorkingDir: filepath.Join(dir, "elsewhere"), Files: []string{"../dev/base.yaml", "../dev/overlay.yaml"}})
	want := []string{filepath.Join(dir, "dev/base.yaml"), filepath.Join(dir, "dev/overlay.yaml")}
	if !reflect.DeepEqual(p.ConfigFiles, want) || p.WorkingDir != filepath.Join(dir, "dev") {
		t.Fatalf("ConfigFiles %q in %q, want %q in dev", p.ConfigFiles, p.WorkingDir, want)
	}
	if api := findService(t, p, "api"); api.Restart.Kind != RestartNone {
		t.Errorf("override not applied: restart = %v", api.Restart)
	}
}

func TestLoadComposeFileVariable(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml":  "services:\n  ignored:\n    image: x\n",
		"a.yaml":        "services:\n  api:\n    image: node\n",
		"b.yaml":        "services:\n  worker:\n    image: node\n",
		"other/.keep":   "",
		"other/c.yaml":  "services:\n  web:\n    image: nginx\n",
		"sep/compose.x": "",
	})
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{"relative to the working directory", []string{"COMPOSE_FILE=a.yaml:b.yaml"}, []string{"api", "worker"}},
		{"custom separator", []string{"COMPOSE_FILE=a.yaml;other/c.yaml", "COMPOSE_PATH_SEPARATOR=;"}, []string{"api", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, Options{WorkingDir: dir, Environ: tt.environ})
			if !reflect.DeepEqual(serviceNames(p), tt.want) {
				t.Fatalf("services = %q, want %q", serviceNames(p), tt.want)
			}
		})
	}

	t.Run("flag wins over the variable", func(t *testing.T) {
		p := mustLoad(t, Options{WorkingDir: dir, Files: []string{"b.yaml"}, Environ: []string{"COMPOSE_FILE=a.yaml"}})
		if !reflect.DeepEqual(serviceNames(p), []string{"worker"}) {
			t.Fatalf("services = %q", serviceNames(p))
		}
	})

	t.Run("missing file", func(t *testing.T) {
		_, err := load(t, Options{WorkingDir: dir, Environ: []string{"COMPOSE_FILE=nope.yaml"}})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "COMPOSE_FILE") || !strings.Contains(err.Error(), "nope.yaml") {
			t.Fatalf("error = %v, want a ConfigError naming COMPOSE_FILE and the file", err)
		}
	})
}

func TestLoadEnvFiles(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml": `
services:
  api:
    image: node
    volumes: ["./${SRC_DIR}:/app"]
    x-devd:
      debug:
        - port: ${DEBUG_PORT:-9229}
`,
		".env":      "SRC_DIR=apiapp\n",
		"alt.env":   "SRC_DIR=notif\nDEBUG_PORT=9339\n",
		"apiapp/":   "",
		"notif/":    "",
		"nodir/.k":  "",
		"sub/.keep": "",
	})

	t.Run("dot env", func(t *testing.T) {
		p := mustLoad(t, Options{WorkingDir: dir})
		api := findService(t, p, "api")
		if len(api.Triggers) != 1 || api.Triggers[0].Path != filepath.Join(dir, "apiapp") {
			t.Fatalf("triggers = %+v, want apiapp from .env", api.Triggers)
		}
		if len(api.Debug) != 1 || api.Debug[0].Port != 9229 {
			t.Fatalf("debug = %+v, want the default port", api.Debug)
		}
		if want := []string{filepath.Join(dir, ".env")}; !reflect.DeepEqual(p.EnvFiles, want) {
			t.Fatalf("EnvFiles = %q, want %q", p.EnvFiles, want)
		}
	})

	t.Run("env file flag", func(t *testing.T) {
		p := mustLoad(t, Options{WorkingDir: dir, EnvFiles: []string{"alt.env"}})
		api := findService(t, p, "api")
		if len(api.Triggers) != 1 || api.Triggers[0].Path != filepath.Join(dir, "notif") {
			t.Fatalf("triggers = %+v, want notif from alt.env", api.Triggers)
		}
		if len(api.Debug) != 1 || api.Debug[0].Port != 9339 {
			t.Fatalf("debug = %+v, want the interpolated port", api.Debug)
		}
		if want := []string{filepath.Join(dir, "alt.env")}; !reflect.DeepEqual(p.EnvFiles, want) {
			t.Fatalf("EnvFiles = %q, want %q", p.EnvFiles, want)
		}
	})

	t.Run("environment wins over dot env", func(t *testing.T) {
		p := mustLoad(t, Options{WorkingDir: dir, Environ: []string{"SRC_DIR=notif"}})
		if api := findService(t, p, "api"); api.Triggers[0].Path != filepath.Join(dir, "notif") {
			t.Fatalf("triggers = %+v, want notif from the environment", api.Triggers)
		}
	})

	t.Run("project env file from subfolder", func(t *testing.T) {
		p := mustLoad(t, Options{WorkingDir: filepath.Join(dir, "sub")})
		if api := findService(t, p, "api"); api.Triggers[0].Path != filepath.Join(dir, "apiapp") {
			t.Fatalf("triggers = %+v, want apiapp from the project's .env", api.Triggers)
		}
	})
}

func TestLoadProjectDirectory(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"deploy/compose.yaml": "services:\n  api:\n    build: .\n    volumes: [./apiapp:/app]\n",
		"apiapp/":             "",
		".env":                "COMPOSE_PROJECT_NAME=fromenv\n",
	})
	p := mustLoad(t, Options{WorkingDir: dir, Files: []string{"deploy/compose.yaml"}, ProjectDirectory: "."})
	api := findService(t, p, "api")
	if p.WorkingDir != dir || api.BuildContext != dir || len(api.Triggers) != 1 || api.Triggers[0].Path != filepath.Join(dir, "apiapp") {
		t.Fatalf("project dir %q, api %+v; want paths relative to %q", p.WorkingDir, api, dir)
	}
	if p.Name != "fromenv" {
		t.Errorf("name = %q, want the one from the project directory's .env", p.Name)
	}
}

func TestLoadProfiles(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml": `
services:
  api:
    image: node
  worker:
    image: node
    profiles: [jobs]
  admin:
    image: node
    profiles: [tools]
`,
	})
	tests := []struct {
		name     string
		opts     Options
		want     []string
		wantErr  string
		selected []string
	}{
		{name: "none enabled", opts: Options{}, want: []string{"api"}},
		{name: "flag", opts: Options{Profiles: []string{"jobs"}}, want: []string{"api", "worker"}},
		{name: "variable", opts: Options{Environ: []string{"COMPOSE_PROFILES=jobs,tools"}}, want: []string{"admin", "api", "worker"}},
		{name: "flag replaces COMPOSE_PROFILES", opts: Options{Profiles: []string{"tools"}, Environ: []string{"COMPOSE_PROFILES=jobs"}}, want: []string{"admin", "api"}},
		{name: "all", opts: Options{Profiles: []string{"*"}}, want: []string{"admin", "api", "worker"}},
		// As with `docker compose up worker`, naming a service enables its
		// profiles.
		{name: "named service in a profile not enabled", opts: Options{Services: []string{"worker"}}, want: []string{"worker"}},
		{name: "named services with and without profiles", opts: Options{Services: []string{"admin", "api"}}, want: []string{"admin", "api"}},
		{
			name:    "unknown named service",
			opts:    Options{Services: []string{"wrker"}},
			wantErr: `unknown service "wrker"; the project's services are api (and admin, worker in profiles not enabled)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.WorkingDir = dir
			p, err := load(t, opts)
			if tt.wantErr != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want a ConfigError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(serviceNames(p), tt.want) {
				t.Fatalf("services = %q, want %q", serviceNames(p), tt.want)
			}
		})
	}
}

func TestLoadProjectName(t *testing.T) {
	dir := tempProject(t, map[string]string{"compose.yaml": "services:\n  api:\n    image: node\n"})
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"flag", Options{ProjectName: "shop"}, "shop"},
		{"variable", Options{Environ: []string{"COMPOSE_PROJECT_NAME=store"}}, "store"},
		{"flag wins over the variable", Options{ProjectName: "shop", Environ: []string{"COMPOSE_PROJECT_NAME=store"}}, "shop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.WorkingDir = dir
			if p := mustLoad(t, opts); p.Name != tt.want {
				t.Fatalf("name = %q, want %q", p.Name, tt.want)
			}
		})
	}

	t.Run("invalid name", func(t *testing.T) {
		_, err := load(t, Options{WorkingDir: dir, ProjectName: "Bad Name"})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), `invalid project name "Bad Name"`) {
			t.Fatalf("error = %v, want a ConfigError about the name", err)
		}
	})
}

func TestLoadSelectedServices(t *testing.T) {
	dir := tempProject(t, map[string]string{"compose.yaml": apiCompose, "apiapp/": ""})
	p := mustLoad(t, Options{WorkingDir: dir, Services: []string{"api"}})
	if !reflect.DeepEqual(serviceNames(p), []string{"api"}) {
		t.Fatalf("services = %q, want only api", serviceNames(p))
	}

	_, err := load(t, Options{WorkingDir: dir, Services: []string{"apii"}})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a ConfigError", err)
	}
	if want := `unknown service "apii"; the project's services are api, db`; err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}

func TestLoadNoComposeFile(t *testing.T) {
	dir := tempProject(t, map[string]string{"src/": ""})
	for d := dir; ; d = filepath.Dir(d) {
		for _, name := range []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				t.Skipf("%s has a Compose file; cannot test discovery failing", d)
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}

	_, err := load(t, Options{WorkingDir: filepath.Join(dir, "src")})
	if !errors.Is(err, ErrNoComposeFile) {
		t.Fatalf("error = %v, want ErrNoComposeFile", err)
	}
	want := "no Compose file was found in " + filepath.Join(dir, "src") + " or its parents: run devd in the project folder or pass -f"
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}

func TestLoadInvalidFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		opts  Options
		want  ConfigError // Message is matched as a part
	}{
		{
			name:  "bad YAML",
			files: map[string]string{"compose.yaml": "services:\n  api:\n    image: [node\n"},
			want:  ConfigError{File: "compose.yaml", Message: "yaml:"},
		},
		{
			name:  "key unknown to the schema",
			files: map[string]string{"compose.yaml": "services:\n  api:\n    image: node\n    imgae: node\n"},
			want:  ConfigError{File: "compose.yaml", Message: "services.api.imgae: unknown key"},
		},
		{
			name: "error in the override file",
			files: map[string]string{
				"compose.yaml":          "services:\n  api:\n    image: node\n",
				"compose.override.yaml": "services:\n  api:\n    ports: {a: b}\n",
			},
			want: ConfigError{File: "compose.override.yaml", Message: "services.api.ports must be a"},
		},
		{
			name:  "missing -f file",
			files: map[string]string{"compose.yaml": "services: {}\n"},
			opts:  Options{Files: []string{"nope.yaml"}},
			want:  ConfigError{File: "nope.yaml", Message: "no such file or directory"},
		},
		{
			name:  "unknown x-devd key",
			files: map[string]string{"compose.yaml": "services:\n  api:\n    image: node\n    x-devd:\n      wach: true\n"},
			want:  ConfigError{File: "compose.yaml", Service: "api", Key: "x-devd.wach", Message: "unknown key; the known keys are build, debug, debug_wait, gitignore, ignore, poll, ready, restart, supervise, user, watch"},
		},
		{
			name:  "x-devd value of the wrong type",
			files: map[string]string{"compose.yaml": "services:\n  api:\n    image: node\n    x-devd:\n      watch: [yes]\n"},
			want:  ConfigError{File: "compose.yaml", Service: "api", Key: "x-devd.watch", Message: "must be true or false, got a list"},
		},
		{
			name:  "bad restart value",
			files: map[string]string{"compose.yaml": "services:\n  api:\n    image: node\n    x-devd:\n      restart: sometimes\n"},
			want:  ConfigError{File: "compose.yaml", Service: "api", Key: "x-devd.restart", Message: `invalid value "sometimes": use process, container, signal:SIGNAL or none`},
		},
		{
			name:  "bad debug port",
			files: map[string]string{"compose.yaml": "services:\n  api:\n    image: node\n    x-devd:\n      debug:\n        - port: 92290\n"},
			want:  ConfigError{File: "compose.yaml", Service: "api", Key: "x-devd.debug[0].port", Message: "port 92290 is out of range"},
		},
		{
			name: "x-devd error in the override file",
			files: map[string]string{
				"compose.yaml":          "services:\n  api:\n    image: node\n    x-devd: {}\n",
				"compose.override.yaml": "services:\n  api:\n    x-devd:\n      restart: signal:SIGWINCH\n",
			},
			want: ConfigError{File: "compose.override.yaml", Service: "api", Key: "x-devd.restart", Message: `invalid signal "SIGWINCH"`},
		},
		{
			name: "missing develop.watch path",
			files: map[string]string{"compose.yaml": `
services:
  api:
    image: node
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
`},
			want: ConfigError{File: "compose.yaml", Service: "api", Key: "develop.watch[0].path", Message: "/src does not exist"},
		},
		{
			name: "x-devd.ignore pattern that does not parse",
			files: map[string]string{
				"app/":         "",
				"compose.yaml": "services:\n  api:\n    image: node\n    volumes: [./app:/app]\n    x-devd:\n      ignore: [tmp/, \"[\"]\n",
			},
			want: ConfigError{File: "compose.yaml", Service: "api", Key: "x-devd.ignore[1]", Message: `pattern "[" does not parse (syntax error in pattern): correct or remove it`},
		},
		{
			name: "develop.watch ignore pattern that does not parse",
			files: map[string]string{"src/": "", "compose.yaml": `
services:
  api:
    image: node
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
          ignore: ["*.log", "!"]
`},
			want: ConfigError{File: "compose.yaml", Service: "api", Key: "develop.watch[0].ignore[1]", Message: `pattern "!" does not parse`},
		},
		{
			name: "develop.watch include pattern that does not parse",
			files: map[string]string{"src/": "", "compose.yaml": `
services:
  api:
    image: node
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
        - path: ./src
          action: restart
          include: ["src/[a-"]
`},
			want: ConfigError{File: "compose.yaml", Service: "api", Key: "develop.watch[1].include[0]", Message: `pattern "src/[a-" does not parse`},
		},
		{
			name: ".dockerignore pattern that does not parse",
			files: map[string]string{
				"app/.dockerignore": "node_modules\n[\n",
				"compose.yaml":      "services:\n  api:\n    build: ./app\n    volumes: [./app:/app]\n",
			},
			want: ConfigError{File: "app/.dockerignore", Service: "api", Message: `pattern "[" does not parse`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tempProject(t, tt.files)
			opts := tt.opts
			opts.WorkingDir = dir
			_, err := load(t, opts)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *ConfigError", err)
			}
			where := ConfigError{File: ce.File, Service: ce.Service, Key: ce.Key}
			if want := (ConfigError{File: tt.want.File, Service: tt.want.Service, Key: tt.want.Key}); where != want {
				t.Errorf("error %q at %+v, want %+v", err, where, want)
			}
			if !strings.Contains(ce.Message, tt.want.Message) {
				t.Errorf("message = %q, want it to contain %q", ce.Message, tt.want.Message)
			}
			for _, prefix := range []string{"failed to parse", "validating", "compose file"} {
				if strings.HasPrefix(ce.Message, prefix) {
					t.Errorf("message repeats the file name: %q", ce.Message)
				}
			}
		})
	}
}

// A .dockerignore that no trigger applies does not stop devd: the service
// is not watched, or watches only folders outside its build context.
func TestLoadUnusedBadDockerignore(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"app/.dockerignore": "[\n",
		"src/":              "",
		"compose.yaml": `
services:
  off:
    build: ./app
    volumes: [./app:/app]
    x-devd: {watch: false}
  outside:
    build: ./app
    volumes: [./src:/src]
`,
	})
	p := mustLoad(t, Options{WorkingDir: dir})
	if got := serviceNames(p); !reflect.DeepEqual(got, []string{"off", "outside"}) {
		t.Errorf("services = %q", got)
	}
}

func TestLoadDevelopWatch(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml": `
services:
  web:
    build: ./web
    volumes:
      - type: bind
        source: ./web/static
        target: /srv/static
    develop:
      watch:
        - path: ./web/src
          action: sync+restart
          target: /srv/src
          ignore: [dist/]
        - path: ./web/package.json
          action: rebuild
        - path: ./web/static
          action: sync
          target: /srv/static
`,
		"web/src/":         "",
		"web/static/":      "",
		"web/package.json": "{}",
	})
	p := mustLoad(t, Options{WorkingDir: dir})
	web := findService(t, p, "web")
	want := []Trigger{
		{Source: SourceDevelopWatch, Index: 0, Action: ActionSyncRestart, Path: filepath.Join(dir, "web/src"), Target: "/srv/src", Ignore: []string{"dist/"}},
		{Source: SourceDevelopWatch, Index: 1, Action: ActionRebuild, Path: filepath.Join(dir, "web/package.json")},
		{Source: SourceDevelopWatch, Index: 2, Action: ActionSync, Path: filepath.Join(dir, "web/static"), Target: "/srv/static", BindMounted: true},
	}
	if !reflect.DeepEqual(web.Triggers, want) {
		t.Fatalf("triggers\n got %+v\nwant %+v", web.Triggers, want)
	}
	if len(web.Unsupported) != 0 {
		t.Fatalf("unsupported = %q, want none", web.Unsupported)
	}
}

func TestLoadIncludedFilesAreConfigFiles(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml":    "include:\n  - db/compose.yaml\nservices:\n  api:\n    image: node\n",
		"db/compose.yaml": "services:\n  db:\n    image: mysql\n",
	})
	p := mustLoad(t, Options{WorkingDir: dir})
	want := []string{filepath.Join(dir, "compose.yaml"), filepath.Join(dir, "db/compose.yaml")}
	if !reflect.DeepEqual(p.ConfigFiles, want) {
		t.Fatalf("ConfigFiles = %q, want %q", p.ConfigFiles, want)
	}
	if !reflect.DeepEqual(serviceNames(p), []string{"api", "db"}) {
		t.Fatalf("services = %q", serviceNames(p))
	}
}

func TestLoadRoutesComposeWarnings(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml":       "services:\n  api:\n    image: node\n",
		"docker-compose.yml": "services:\n  other:\n    image: node\n",
	})
	var buf bytes.Buffer
	var mu sync.Mutex
	log := hclog.New(&hclog.LoggerOptions{Output: &lockedWriter{w: &buf, mu: &mu}, Level: hclog.Trace})

	std := logrus.StandardLogger()
	outBefore := std.Out
	if _, err := Load(context.Background(), Options{WorkingDir: dir, Environ: []string{}}, log); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := buf.String()
	mu.Unlock()
	if !strings.Contains(got, "[WARN]") || !strings.Contains(got, "Found multiple config files with supported names") {
		t.Fatalf("compose-go's warning did not reach the logger; log:\n%s", got)
	}
	if std.Out != outBefore || len(std.Hooks) != 0 {
		t.Fatalf("logrus not restored: out %v, hooks %v", std.Out, std.Hooks)
	}
}

func TestLoadCancelled(t *testing.T) {
	dir := tempProject(t, map[string]string{"compose.yaml": "services:\n  api:\n    image: node\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, Options{WorkingDir: dir, Environ: []string{}}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestLoadRejectsStandardInput(t *testing.T) {
	_, err := load(t, Options{WorkingDir: t.TempDir(), Files: []string{"-"}})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "standard input is not supported") {
		t.Fatalf("error = %v", err)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestLoadSampleConfigs keeps the samples in configs/ valid and their
// comments true.
func TestLoadSampleConfigs(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("..", "configs", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	t.Run("x-devd reference", func(t *testing.T) {
		dir := tempProject(t, map[string]string{
			"compose.yaml":   read("x-devd.yaml"),
			"apiapp/":        "",
			"billing/cmd/":   "",
			"billing/go.mod": "module billing\n",
		})
		p := mustLoad(t, Options{WorkingDir: dir})
		api := findService(t, p, "api")
		want := []DebugPort{{Port: 9229, Runtime: "node", Listen: "127.0.0.1:19229"}}
		if !api.Watch || len(api.Triggers) != 1 || !reflect.DeepEqual(api.Debug, want) {
			t.Fatalf("api = %+v", api)
		}
		if api.Restart.Kind != RestartProcess || !api.RestartSet || api.Supervise == nil || !*api.Supervise || api.SyncUser != "1000:1000" || api.Ready == "" {
			t.Errorf("api = %+v", api)
		}
		billing := findService(t, p, "billing")
		if b := billing.Build; b == nil || b.Target != "/app/billing" || len(b.Watch) != 2 || len(billing.Triggers) != 2 {
			t.Errorf("billing = %+v, build %+v", billing, billing.Build)
		}
	})

	t.Run("example project", func(t *testing.T) {
		dir := tempProject(t, map[string]string{
			"compose.devd-example.yaml": read("compose.devd-example.yaml"),
			"apiapp/node_modules/":      "",
			"notification/":             "",
			"web/src/":                  "",
			"web/package.json":          "{}",
			"billing/":                  "",
			"migrate/":                  "",
		})
		p := mustLoad(t, Options{WorkingDir: dir, Files: []string{"compose.devd-example.yaml"}})
		watched := map[string]bool{}
		for _, s := range p.Services {
			watched[s.Name] = s.Watch
		}
		wantWatched := map[string]bool{"api": true, "notification": true, "web": true, "billing": true, "db": false, "migrate": false}
		if !reflect.DeepEqual(watched, wantWatched) {
			t.Fatalf("watched = %v, want %v", watched, wantWatched)
		}
		if api := findService(t, p, "api"); len(api.Triggers) != 1 || len(api.Triggers[0].Hidden) != 1 || len(api.Debug) != 1 {
			t.Errorf("api = %+v", api)
		}
		if n := findService(t, p, "notification"); n.Restart.Signal != "SIGHUP" || len(n.Debug) != 1 || n.Debug[0].Port != 9223 {
			t.Errorf("notification = %+v", n)
		}
		if w := findService(t, p, "web"); len(w.Triggers) != 2 || len(w.Unsupported) != 0 {
			t.Errorf("web = %+v", w)
		}
		if b := findService(t, p, "billing"); len(b.Debug) != 1 || b.Debug[0].Runtime != "go" || b.Debug[0].Detected {
			t.Errorf("billing = %+v", b)
		}
	})
}

func TestLoadConcurrently(t *testing.T) {
	dir := tempProject(t, map[string]string{"compose.yaml": apiCompose, "apiapp/": ""})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Load(context.Background(), Options{WorkingDir: dir, Environ: []string{}}, hclog.NewNullLogger())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
