package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runDevd runs the command in-process in dir and returns its exit code
// and output.
func runDevd(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// project writes a Compose project into a temporary folder: the compose
// file and a source folder `app` for it to mount.
func project(t *testing.T, compose string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const validCompose = `name: clitest
services:
  app:
    image: scratch
    command: node --inspect=0.0.0.0:9229 server.js
    volumes:
      - ./app:/app
`

// unreachableEngine points devd at a socket where no engine listens, so a
// test that gets past configuration checks fails fast without touching a
// real engine.
func unreachableEngine(t *testing.T) string {
	t.Helper()
	sock := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	t.Setenv("DOCKER_HOST", sock)
	return sock
}

func TestBadInputExitsWithMessage(t *testing.T) {
	unreachableEngine(t)
	t.Setenv("COMPOSE_FILE", "")
	t.Setenv("COMPOSE_PROJECT_NAME", "")

	cases := []struct {
		name    string
		compose string // empty: no compose file at all
		args    []string
		env     map[string]string
		code    int
		want    []string
	}{
		{
			name: "no compose file",
			code: exitUsage,
			want: []string{"no Compose file"},
		},
		{
			name:    "yaml that does not parse",
			compose: "services:\n  app:\n    image: [unclosed\n",
			code:    exitUsage,
			want:    []string{"compose.yaml"},
		},
		{
			name:    "compose file that does not validate",
			compose: "services:\n  app:\n    image: scratch\n    restart_policy_typo: always\n",
			code:    exitUsage,
			want:    []string{"compose.yaml", "restart_policy_typo"},
		},
		{
			name: "develop.watch path that does not exist",
			compose: `services:
  app:
    image: scratch
    develop:
      watch:
        - action: sync
          path: ./missing
          target: /app
`,
			code: exitUsage,
			want: []string{`"app"`, "develop.watch[0].path", "missing"},
		},
		{
			name:    "unknown x-devd key",
			compose: validCompose + "    x-devd:\n      restrat: container\n",
			code:    exitUsage,
			want:    []string{`"app"`, "x-devd.restrat"},
		},
		{
			// Found before devd reaches the engine, which is unreachable
			// here.
			name:    "x-devd ignore pattern that does not parse",
			compose: validCompose + "    x-devd:\n      ignore: [\"[\"]\n",
			code:    exitUsage,
			want:    []string{"compose.yaml", `"app"`, "x-devd.ignore[0]", `pattern "["`},
		},
		{
			name:    "invalid x-devd restart value",
			compose: validCompose + "    x-devd:\n      restart: sometimes\n",
			code:    exitUsage,
			want:    []string{"x-devd.restart", "sometimes"},
		},
		{
			name:    "debug port of the wrong type",
			compose: validCompose + "    x-devd:\n      debug:\n        - port: [1]\n",
			code:    exitUsage,
			want:    []string{"x-devd.debug[0].port"},
		},
		{
			name:    "remote debug listen without allow_remote",
			compose: validCompose + "    x-devd:\n      debug:\n        - port: 9229\n          listen: 0.0.0.0:19229\n",
			code:    exitUsage,
			want:    []string{"allow_remote"},
		},
		{
			name:    "unknown service",
			compose: validCompose,
			args:    []string{"nosuchservice"},
			code:    exitUsage,
			want:    []string{`"nosuchservice"`, "app"},
		},
		{
			name:    "invalid log level",
			compose: validCompose,
			args:    []string{"--log-level", "loud"},
			code:    exitUsage,
			want:    []string{"loud", "trace, debug, info, warn, error"},
		},
		{
			name:    "invalid log level in the environment",
			compose: validCompose,
			env:     map[string]string{"DEVD_LOG_LEVEL": "bogus"},
			code:    exitUsage,
			want:    []string{"DEVD_LOG_LEVEL", `"bogus"`, "trace, debug, info, warn, error"},
		},
		{
			name:    "poll interval too short",
			compose: validCompose,
			args:    []string{"--poll", "10ms"},
			code:    exitUsage,
			want:    []string{"--poll 10ms", "100ms"},
		},
		{
			name:    "quiet period too long",
			compose: validCompose,
			args:    []string{"--quiet", "2s"},
			code:    exitUsage,
			want:    []string{`--quiet (or DEVD_QUIET) "2s"`, "5ms", "1s"},
		},
		{
			name:    "quiet period not a duration",
			compose: validCompose,
			args:    []string{"--quiet", "fast"},
			code:    exitUsage,
			want:    []string{`"fast"`, "such as 25ms"},
		},
		{
			name:    "unknown flag",
			compose: validCompose,
			args:    []string{"--frobnicate"},
			code:    exitUsage,
			want:    []string{"frobnicate"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			if tc.compose != "" {
				dir = project(t, tc.compose)
			}
			code, out := runDevd(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

// The rules are compiled before devd reaches the engine, so what only they
// read, such as a .gitignore, is a configuration error too.
func TestRulesAreCheckedBeforeTheEngine(t *testing.T) {
	unreachableEngine(t)
	dir := project(t, validCompose+"    x-devd:\n      gitignore: true\n")
	// A folder where the .gitignore should be cannot be read.
	if err := os.Mkdir(filepath.Join(dir, "app", ".gitignore"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"up"}} {
		code, out := runDevd(t, dir, args...)
		if code != exitUsage {
			t.Errorf("devd %q: exit code %d, want %d; output:\n%s", args, code, exitUsage, out)
		}
		if !strings.Contains(out, ".gitignore") {
			t.Errorf("devd %q: output does not name the .gitignore:\n%s", args, out)
		}
	}
}

// When nothing is watched, the error names what each service lacks. It
// does not ask for a build: section that a service has.
func TestNothingToDoNamesWhatIsMissing(t *testing.T) {
	unreachableEngine(t)
	t.Setenv("COMPOSE_FILE", "")
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	cases := []struct {
		name    string
		compose string
		args    []string
		want    []string
		notWant []string
	}{
		{
			name:    "build sections only",
			compose: "name: clitest\nservices:\n  api:\n    build: ./app\n  web:\n    build: ./app\n",
			want:    []string{`no service of project "clitest"`, "api and web have a build: section but no bind mount of a project folder and no develop.watch"},
			notWant: []string{"give a service a build: section"},
		},
		{
			name:    "named build service",
			compose: "name: clitest\nservices:\n  api:\n    build: ./app\n  web:\n    build: ./app\n    volumes: [./app:/app]\n",
			args:    []string{"api"},
			want:    []string{"none of the services api", "api has a build: section but no bind mount"},
		},
		{
			name:    "image, build and watch off",
			compose: "name: clitest\nservices:\n  db:\n    image: mysql\n  api:\n    build: ./app\n  web:\n    build: ./app\n    volumes: [./app:/app]\n    x-devd: {watch: false}\n",
			want:    []string{"api has a build: section", "db has nothing to watch and no debug port", "web has x-devd.watch: false"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := project(t, tc.compose)
			for _, up := range []bool{false, true} {
				args := tc.args
				if up {
					args = append([]string{"up"}, args...)
				}
				code, out := runDevd(t, dir, args...)
				if code != exitUsage {
					t.Errorf("devd %q: exit code %d, want %d; output:\n%s", args, code, exitUsage, out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("devd %q: output does not mention %q:\n%s", args, w, out)
					}
				}
				for _, w := range tc.notWant {
					if strings.Contains(out, w) {
						t.Errorf("devd %q: output mentions %q:\n%s", args, w, out)
					}
				}
			}
		})
	}
}

func TestUnreachableEngineNamesAddress(t *testing.T) {
	sock := unreachableEngine(t)
	dir := project(t, validCompose)

	code, out := runDevd(t, dir)
	if code != exitUnreachable {
		t.Errorf("exit code %d, want %d; output:\n%s", code, exitUnreachable, out)
	}
	for _, w := range []string{sock, "DOCKER_HOST"} {
		if !strings.Contains(out, w) {
			t.Errorf("output does not mention %q:\n%s", w, out)
		}
	}
}

func TestUnknownContextIsReported(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "no-such-context")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := project(t, validCompose)

	// A context that does not exist is a configuration error, not an
	// unreachable engine.
	for _, args := range [][]string{nil, {"up"}} {
		code, out := runDevd(t, dir, args...)
		if code != exitUsage {
			t.Errorf("devd %q: exit code %d, want %d; output:\n%s", args, code, exitUsage, out)
		}
		if !strings.Contains(out, "no-such-context") {
			t.Errorf("devd %q: output does not name the context:\n%s", args, out)
		}
	}
}

func TestTakenDebugListenIsReported(t *testing.T) {
	unreachableEngine(t)
	runtimeDirForTest(t) // devd opens its control socket before it checks the ports
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	dir := project(t, validCompose+"    x-devd:\n      debug:\n        - port: 9229\n          listen: "+addr+"\n")
	code, out := runDevd(t, dir)
	if code != exitUsage {
		t.Errorf("exit code %d, want %d; output:\n%s", code, exitUsage, out)
	}
	if !strings.Contains(out, addr) {
		t.Errorf("output does not name the taken address %s:\n%s", addr, out)
	}
}

// A second devd for a project finds the first one's debug listen address
// taken. Its error must name the running devd, not the address.
func TestSecondDevdNamesTheFirst(t *testing.T) {
	unreachableEngine(t)
	t.Setenv("COMPOSE_FILE", "")
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	fakeDevd(t) // project ctltest, pid 4242
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	dir := project(t, "name: ctltest\nservices:\n  app:\n    image: scratch\n    volumes: [./app:/app]\n"+
		"    x-devd:\n      debug:\n        - port: 9229\n          listen: "+addr+"\n")
	for _, args := range [][]string{nil, {"up"}} {
		code, out := runDevd(t, dir, args...)
		if code != exitUsage {
			t.Errorf("devd %q: exit code %d, want %d; output:\n%s", args, code, exitUsage, out)
		}
		if !strings.Contains(out, "already running") || !strings.Contains(out, "pid 4242") {
			t.Errorf("devd %q: output does not name the running devd:\n%s", args, out)
		}
		if strings.Contains(out, addr) {
			t.Errorf("devd %q: output blames the listen address:\n%s", args, out)
		}
	}
}

// Under --log-json an error that stops devd at start is a JSON line with
// the fields of every other log line.
func TestStartErrorIsJSONWithTimestamp(t *testing.T) {
	unreachableEngine(t)
	dir := project(t, validCompose)
	code, out := runDevd(t, dir, "--log-json", "nosuchservice")
	if code != exitUsage {
		t.Errorf("exit code %d, want %d; output:\n%s", code, exitUsage, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var entry map[string]string
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &entry); err != nil {
		t.Fatalf("last line is not a JSON object: %v\n%s", err, out)
	}
	if _, err := time.Parse(time.RFC3339Nano, entry["@timestamp"]); err != nil {
		t.Errorf("@timestamp %q: %v", entry["@timestamp"], err)
	}
	if entry["@level"] != "error" || !strings.Contains(entry["error"], "nosuchservice") {
		t.Errorf("entry = %v, want an error naming the service", entry)
	}
}

func TestVersionPrints(t *testing.T) {
	code, out := runDevd(t, t.TempDir(), "version")
	if code != exitOK {
		t.Errorf("exit code %d, want 0", code)
	}
	if !strings.HasPrefix(out, "devd ") {
		t.Errorf("version output %q does not start with \"devd \"", out)
	}
}

func TestExplainNamesRuleAndPattern(t *testing.T) {
	dir := project(t, `name: explaintest
services:
  app:
    image: scratch
    develop:
      watch:
        - action: sync+restart
          path: ./app
          target: /srv/app
          ignore:
            - "*.tmp"
`)
	if err := os.WriteFile(filepath.Join(dir, "app", "main.js"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out := runDevd(t, dir, "explain", "app/main.js", "app/scratch.tmp", "compose.yaml")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0; output:\n%s", code, out)
	}
	for _, want := range []string{
		"synced to /srv/app/main.js",
		"restarts the service (restart mode process under devd up, container otherwise)",
		`ignored: "*.tmp" (develop.watch ignore)`,
		`no watched folder of project "explaintest" contains it`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output does not contain %q:\n%s", want, out)
		}
	}
	// scratch.tmp does not exist, but being ignored it is never deleted.
	if strings.Contains(out, "devd deletes it") {
		t.Errorf("explain says devd deletes an ignored path:\n%s", out)
	}

	code, out = runDevd(t, dir, "explain", "app/gone.js")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0; output:\n%s", code, out)
	}
	if !strings.Contains(out, "devd deletes it in the container") {
		t.Errorf("explain does not say that devd deletes a missing synced path:\n%s", out)
	}
}
