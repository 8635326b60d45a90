package up

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeDocker writes a docker CLI that records its arguments, one per
// line, into a file, and exits with the given status.
func fakeDocker(t *testing.T, status int) (docker, record string) {
	t.Helper()
	dir := t.TempDir()
	record = filepath.Join(dir, "args")
	docker = filepath.Join(dir, "docker")
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done >> " + record + "\necho --- >> " + record + "\necho compose output\nexit " + itoa(status) + "\n"
	must(t, os.WriteFile(docker, []byte(script), 0o755))
	return docker, record
}

func recorded(t *testing.T, record string) [][]string {
	t.Helper()
	var calls [][]string
	var cur []string
	for _, line := range strings.Split(strings.TrimSpace(string(mustRead(t, record))), "\n") {
		if line == "---" {
			calls = append(calls, cur)
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return calls
}

func TestComposeCommands(t *testing.T) {
	docker, record := fakeDocker(t, 0)
	var out bytes.Buffer
	opts := UpOptions{
		Docker:      docker,
		Files:       []string{"/p/compose.yaml", "/p/compose.override.yaml"},
		ProjectName: "proj",
		ProjectDir:  "/p",
		Profiles:    []string{"debug"},
		EnvFiles:    []string{"/p/.env.dev"},
		Services:    []string{"api", "web"},
		Override:    "/p/.devd/compose.devd.yaml",
		Stdout:      &out,
	}
	ctx := context.Background()
	must(t, Build(ctx, opts))
	must(t, Pull(ctx, opts, []string{"web"}))
	must(t, Up(ctx, opts))
	opts.NoBuild = true
	must(t, Up(ctx, opts))
	opts.Services = nil
	must(t, Down(ctx, opts))

	project := []string{"compose", "--project-name", "proj", "--project-directory", "/p", "--file", "/p/compose.yaml", "--file", "/p/compose.override.yaml"}
	withOverride := append(append([]string(nil), project...), "--file", "/p/.devd/compose.devd.yaml")
	flags := []string{"--profile", "debug", "--env-file", "/p/.env.dev"}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	want := [][]string{
		join(project, flags, []string{"build", "api", "web"}),
		join(project, flags, []string{"pull", "web"}),
		join(withOverride, flags, []string{"up", "--detach", "api", "web"}),
		join(withOverride, flags, []string{"up", "--detach", "--no-build", "api", "web"}),
		join(withOverride, flags, []string{"down"}),
	}
	if got := recorded(t, record); !reflect.DeepEqual(got, want) {
		t.Errorf("docker calls:\n%q\nwant\n%q", got, want)
	}
	if !strings.Contains(out.String(), "compose output") {
		t.Errorf("the CLI's output did not reach Stdout: %q", out.String())
	}
}

func TestComposeFailure(t *testing.T) {
	docker, _ := fakeDocker(t, 3)
	err := Up(context.Background(), UpOptions{Docker: docker, Files: []string{"/p/compose.yaml"}})
	if err == nil || !strings.Contains(err.Error(), "running docker compose up: it exited with status 3") {
		t.Fatalf("error = %v", err)
	}

	err = Up(context.Background(), UpOptions{Docker: filepath.Join(t.TempDir(), "no-docker"), Files: []string{"/p/compose.yaml"}})
	if err == nil || !strings.Contains(err.Error(), "running docker compose up") {
		t.Fatalf("error = %v", err)
	}
	if err := Up(context.Background(), UpOptions{Docker: docker}); err == nil || !strings.Contains(err.Error(), "no Compose file") {
		t.Fatalf("error without files = %v", err)
	}
}
