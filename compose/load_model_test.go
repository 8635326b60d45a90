package compose

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestLoadModel(t *testing.T) {
	dir := tempProject(t, map[string]string{
		"compose.yaml": `include:
  - db/compose.yaml
services:
  api:
    image: node
    entrypoint: ["docker-entrypoint.sh"]
    command: node server.js
    volumes:
      - ./app:/app
    x-devd:
      restart: process
      ready: http://localhost:3000/health
      user: 1000:1000
      poll: 500ms
`,
		"db/compose.yaml": "services:\n  db:\n    image: mysql\n",
		"app/":            "",
	})
	p, model, err := LoadModel(context.Background(), Options{WorkingDir: dir, Environ: []string{}}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}

	if want := []string{filepath.Join(dir, "compose.yaml")}; !reflect.DeepEqual(p.ComposeFiles, want) {
		t.Errorf("ComposeFiles = %q, want %q (included files are not given to Compose)", p.ComposeFiles, want)
	}
	if len(p.ConfigFiles) != 2 {
		t.Errorf("ConfigFiles = %q, want the Compose file and the included one", p.ConfigFiles)
	}

	sc, ok := model.Services["api"]
	if !ok || !reflect.DeepEqual([]string(sc.Command), []string{"node", "server.js"}) ||
		!reflect.DeepEqual([]string(sc.Entrypoint), []string{"docker-entrypoint.sh"}) {
		t.Errorf("model service api = %+v", sc)
	}

	api := findService(t, p, "api")
	if api.Restart.Kind != RestartProcess || !api.RestartSet {
		t.Errorf("restart = %v (set %v), want process, set", api.Restart, api.RestartSet)
	}
	// An unquoted 1000:1000 must reach devd as the string it reads as.
	if api.Ready != "http://localhost:3000/health" || api.SyncUser != "1000:1000" || api.Poll != 500*time.Millisecond {
		t.Errorf("api = %+v", api)
	}
}
