package up

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/devdtool/devd/compose"
)

// buildService returns a service whose host build runs script with sh in
// a new folder and is expected to write out there.
func buildService(t *testing.T, script string, env ...string) (compose.Service, string) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh on PATH")
	}
	dir := t.TempDir()
	return compose.Service{
		Name: "billing",
		Build: &compose.HostBuild{
			Command: []string{"sh", "-c", script},
			Dir:     dir,
			Env:     env,
			Output:  filepath.Join(dir, "bin", "billing"),
			Target:  "/app/billing",
		},
	}, dir
}

func TestHostBuildRunsInWorkdirWithEnv(t *testing.T) {
	t.Setenv("DEVD_TEST_FROM_DEVD", "inherited")
	svc, dir := buildService(t,
		`mkdir -p bin && echo "$GOOS $DEVD_TEST_FROM_DEVD" > bin/billing && echo compiled && echo warning >&2`,
		"GOOS=linux")

	var stdout, stderr bytes.Buffer
	must(t, HostBuild(context.Background(), svc, &stdout, &stderr))

	if got := string(mustRead(t, filepath.Join(dir, "bin", "billing"))); got != "linux inherited\n" {
		t.Errorf("artifact = %q, want the build's env and devd's environment in it", got)
	}
	if stdout.String() != "compiled\n" || stderr.String() != "warning\n" {
		t.Errorf("stdout = %q, stderr = %q; want each stream to reach its writer", stdout.String(), stderr.String())
	}
}

func TestHostBuildFailures(t *testing.T) {
	cases := []struct {
		name       string
		script     string
		want       []string
		wantOutput string
	}{
		{
			name:       "compile error",
			script:     `echo "./message.go:5:17: undefined: notDeclared" >&2; exit 1`,
			want:       []string{`service "billing"`, "exited with status 1", "output is above", "x-devd.build"},
			wantOutput: "undefined: notDeclared",
		},
		{
			name:   "no output written",
			script: `true`,
			want:   []string{`service "billing"`, "did not write", filepath.Join("bin", "billing"), "x-devd.build.output"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, _ := buildService(t, tc.script)
			var out bytes.Buffer
			err := HostBuild(context.Background(), svc, &out, &out)
			if err == nil {
				t.Fatal("HostBuild succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(out.String(), tc.wantOutput) {
				t.Errorf("the compiler's message did not reach the writer: %q", out.String())
			}
		})
	}
}

func TestHostBuildMissingProgram(t *testing.T) {
	svc, _ := buildService(t, "")
	svc.Build.Command = []string{"devd-test-no-such-compiler", "build"}
	err := HostBuild(context.Background(), svc, nil, nil)
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "x-devd.build.command") {
		t.Errorf("error = %v, want exec.ErrNotFound and a pointer to x-devd.build.command", err)
	}
}

func TestHostBuildStopsWithContext(t *testing.T) {
	svc, _ := buildService(t, `echo started; exec sleep 60`)
	ctx, cancel := context.WithCancel(context.Background())
	started := &signalWriter{ch: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- HostBuild(ctx, svc, started, nil) }()

	select {
	case <-started.ch:
	case err := <-done:
		t.Fatalf("HostBuild returned before the command started: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

// signalWriter closes ch at its first write. Only one goroutine writes.
type signalWriter struct {
	ch   chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}

func TestHostBuildWithoutBuild(t *testing.T) {
	if err := HostBuild(context.Background(), compose.Service{Name: "api"}, nil, nil); err != nil {
		t.Errorf("a service without x-devd.build: %v, want nil", err)
	}
}

func TestCommandText(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"sh", "-c", "go build -o bin/billing ."}, "go build -o bin/billing ."},
		{[]string{"go", "build", "-o", "bin/billing", "."}, "go build -o bin/billing ."},
		{[]string{"sh", "-c", "make", "extra"}, "sh -c make extra"},
	} {
		if got := CommandText(tc.argv); got != tc.want {
			t.Errorf("CommandText(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}
