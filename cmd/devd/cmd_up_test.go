package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/devdtool/devd/engine"
)

func TestUpRejectsBadInputBeforeTouchingTheEngine(t *testing.T) {
	unreachableEngine(t)
	t.Setenv("COMPOSE_FILE", "")
	t.Setenv("COMPOSE_PROJECT_NAME", "")

	cases := []struct {
		name    string
		compose string
		env     map[string]string
		code    int
		want    []string
	}{
		{
			name:    "invalid x-devd key",
			compose: validCompose + "    x-devd:\n      ready: https://localhost/\n",
			code:    exitUsage,
			want:    []string{`"app"`, "x-devd.ready"},
		},
		{
			name:    "nothing to watch",
			compose: "name: clitest\nservices:\n  db:\n    image: mysql\n",
			code:    exitUsage,
			want:    []string{"has anything for devd to do"},
		},
		{
			name:    "remote engine",
			compose: validCompose,
			env:     map[string]string{"DOCKER_HOST": "tcp://192.0.2.10:2376"},
			code:    exitUsage,
			want:    []string{"tcp://192.0.2.10:2376", "plain devd"},
		},
		{
			name:    "engine that does not answer",
			compose: validCompose,
			code:    exitUnreachable,
			want:    []string{"cannot reach the Docker engine"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := project(t, tc.compose)
			code, out := runDevd(t, dir, "up")
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestCheckLocalEngine(t *testing.T) {
	for host, local := range map[string]bool{
		"unix:///var/run/docker.sock":   true,
		"npipe:////./pipe/docker":       true,
		"tcp://127.0.0.1:2375":          true,
		"tcp://localhost:2375":          true,
		"tcp://[::1]:2375":              true,
		"tcp://192.0.2.10:2376":         false,
		"tcp://docker.example.com:2376": false,
		"ssh://dev@192.0.2.10":          false,
	} {
		err := checkLocalEngine(engine.Endpoint{Host: host, Source: "DOCKER_HOST"})
		if (err == nil) != local {
			t.Errorf("checkLocalEngine(%s) = %v, want local %v", host, err, local)
		}
	}
}

func TestLineLogger(t *testing.T) {
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true})
	w := &lineLogger{log: log, stream: "stderr"}
	for _, chunk := range []string{" Container a Cre", "ated\n\n Container b", " Started\r\npartial"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"line":" Container a Created"`) || !strings.Contains(lines[1], `"line":" Container b Started"`) {
		t.Fatalf("logged:\n%s", buf.String())
	}
}
