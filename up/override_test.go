package up

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/go-hclog"
	"go.yaml.in/yaml/v4"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
)

// loadProject writes a Compose file and an `app` folder into a new
// project folder and loads it the way devd up does.
func loadProject(t *testing.T, composeYAML string) (string, *compose.Project, *types.Project) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(composeYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	p, model, err := compose.LoadModel(context.Background(), compose.Options{WorkingDir: dir, Environ: []string{}}, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("loading project: %v", err)
	}
	return dir, p, model
}

// reload loads the project again with the override after its own files,
// as devd does after `devd up`, and returns compose-go's model.
func reload(t *testing.T, dir string, p *compose.Project, override []byte) *types.Project {
	t.Helper()
	path, err := Write(dir, override)
	if err != nil {
		t.Fatal(err)
	}
	files := append(append([]string(nil), p.ComposeFiles...), path)
	_, model, err := compose.LoadModel(context.Background(), compose.Options{WorkingDir: dir, Files: files, Environ: []string{}}, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("loading project with the override: %v\n%s", err, override)
	}
	return model
}

func TestOverride(t *testing.T) {
	const project = `name: proj
services:
  api:
    build: ./app
    init: true
    command: node server.js
    environment:
      PRICE: "$$5"
    ports:
      - "127.0.0.1:3000:3000"
    expose: ["8080-8081", "53/udp"]
    volumes:
      - ./app:/usr/src/app
    labels:
      team: web
    stop_signal: SIGINT
    stop_grace_period: 3s
    x-devd:
      ready: tcp:3000
      debug:
        - port: 9229
          runtime: node
  worker:
    image: busybox
    entrypoint: ["/bin/sh", "-c"]
    command: ["echo $$HOME && node index.js"]
    volumes:
      - ./app:/app
    x-devd:
      debug:
        - port: 9230
          runtime: node
          brk: true
  optout:
    image: busybox
    command: node x.js
    volumes:
      - ./app:/app
    x-devd:
      supervise: false
  db:
    image: mysql
`
	dir, p, model := loadProject(t, project)
	images := map[string]engine.ImageConfig{
		"api":    {Entrypoint: []string{"docker-entrypoint.sh"}, Cmd: []string{"node"}, ExposedPorts: []int{3000, 9229}},
		"worker": {Entrypoint: []string{"/ignored"}, Cmd: []string{"ignored"}},
	}
	bin := "/home/dev/.cache/devd/bin/0123456789abcdef/devd"
	runDirs := map[string]string{"api": "/run/user/1000/devd/run/proj/api", "worker": "/run/user/1000/devd/run/proj/worker"}

	data, err := Override(model, p.Services, images, bin, runDirs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Override(model, p.Services, images, bin, runDirs)
	if err != nil || string(again) != string(data) {
		t.Fatalf("a second run gave different output:\n%s\n---\n%s", data, again)
	}

	// The file holds only what devd changes, for supervised services only.
	var raw struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatalf("override is not YAML: %v\n%s", err, data)
	}
	if got := sortedKeys(raw.Services); !reflect.DeepEqual(got, []string{"api", "worker"}) {
		t.Fatalf("override services = %q, want api and worker\n%s", got, data)
	}
	for name, keys := range raw.Services {
		if got := sortedKeys(keys); !reflect.DeepEqual(got, []string{"command", "entrypoint", "labels", "volumes"}) {
			t.Errorf("%s: override keys = %q", name, got)
		}
	}

	merged := reload(t, dir, p, data)
	api := merged.Services["api"]
	wantEntry := []string{"/.devd/devd-supervisor", "supervise", "--service", "api", "--stop-signal", "SIGINT", "--grace", "3s",
		"--port", "3000", "--port", "8080", "--port", "8081", "--port", "9229", "--ready", "tcp:3000", "--", "docker-entrypoint.sh"}
	if !reflect.DeepEqual([]string(api.Entrypoint), wantEntry) {
		t.Errorf("api entrypoint =\n%q\nwant\n%q", api.Entrypoint, wantEntry)
	}
	if want := []string{"node", "--inspect=0.0.0.0:9229", "server.js"}; !reflect.DeepEqual([]string(api.Command), want) {
		t.Errorf("api command = %q, want %q", api.Command, want)
	}
	if api.Labels[SupervisorLabel] != "1" || api.Labels["team"] != "web" {
		t.Errorf("api labels = %v, want the supervisor label next to the user's", api.Labels)
	}
	if api.Init == nil || !*api.Init || *api.Environment["PRICE"] != "$5" || len(api.Ports) != 1 {
		t.Errorf("api: the override changed something else: %+v", api)
	}
	wantMounts := map[string]string{
		"/usr/src/app":           filepath.Join(dir, "app"),
		"/.devd/devd-supervisor": bin,
		"/.devd/run":             runDirs["api"],
	}
	gotMounts := map[string]string{}
	for _, v := range api.Volumes {
		gotMounts[v.Target] = v.Source
		if v.Target == "/.devd/devd-supervisor" && !v.ReadOnly {
			t.Error("the supervisor binary is mounted writable")
		}
	}
	if !reflect.DeepEqual(gotMounts, wantMounts) {
		t.Errorf("api mounts = %v, want %v", gotMounts, wantMounts)
	}

	// A Compose entrypoint drops the image's; dollar signs survive the
	// second interpolation; the inspector flag goes into the shell script.
	worker := merged.Services["worker"]
	if want := []string{"--", "/bin/sh", "-c"}; !reflect.DeepEqual([]string(worker.Entrypoint[len(worker.Entrypoint)-3:]), want) {
		t.Errorf("worker entrypoint = %q, want it to end with %q", worker.Entrypoint, want)
	}
	if want := []string{"echo $HOME && node index.js"}; !reflect.DeepEqual([]string(worker.Command), want) {
		t.Errorf("worker command = %q, want %q (the script does not start with node)", worker.Command, want)
	}

	if optout := merged.Services["optout"]; len(optout.Entrypoint) != 0 || optout.Labels[SupervisorLabel] != "" {
		t.Errorf("a service with supervise: false was changed: %+v", optout)
	}
}

func TestOverrideNotes(t *testing.T) {
	const project = `name: proj
services:
  worker:
    image: busybox
    entrypoint: ["/bin/sh", "-c"]
    command: ["echo $$HOME && node index.js"]
    volumes:
      - ./app:/app
    x-devd:
      debug:
        - port: 9230
          runtime: node
`
	_, p, model := loadProject(t, project)
	wraps, err := Plan(model, p.Services, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(wraps) != 1 || len(wraps[0].Notes) != 1 || !strings.Contains(wraps[0].Notes[0], "add --inspect=0.0.0.0:9230 to the node command") {
		t.Fatalf("wraps = %+v, want a note that says how to start the inspector", wraps)
	}
}

func TestOverrideErrors(t *testing.T) {
	const project = `name: proj
services:
  api:
    image: node
    volumes:
      - ./app:/app
    x-devd: {}
`
	_, p, model := loadProject(t, project)
	runDirs := map[string]string{"api": "/run/x"}
	tests := []struct {
		name    string
		images  map[string]engine.ImageConfig
		bin     string
		runDirs map[string]string
		want    string
	}{
		{"image unknown", nil, "/bin/devd", runDirs, "the configuration of image node of service \"api\" is not known"},
		{"nothing to run", map[string]engine.ImageConfig{"api": {}}, "/bin/devd", runDirs, "has no command"},
		{"no binary", map[string]engine.ImageConfig{"api": {Cmd: []string{"node"}}}, "", runDirs, "no supervisor binary"},
		{"no control folder", map[string]engine.ImageConfig{"api": {Cmd: []string{"node"}}}, "/bin/devd", nil, "no control folder for service \"api\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Override(model, p.Services, tt.images, tt.bin, tt.runDirs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestOverrideWithoutSupervisedServices(t *testing.T) {
	const project = `name: proj
services:
  api:
    image: node
    volumes:
      - ./app:/app
    x-devd:
      supervise: false
`
	dir, p, model := loadProject(t, project)
	data, err := Override(model, p.Services, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	merged := reload(t, dir, p, data)
	if api := merged.Services["api"]; len(api.Entrypoint) != 0 || len(api.Labels) != 0 {
		t.Errorf("api changed: %+v", api)
	}
}
