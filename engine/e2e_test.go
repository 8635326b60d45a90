package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/engine/enginetest"
)

// e2eTimeout bounds each end-to-end step that waits on the engine.
const e2eTimeout = 30 * time.Second

func TestEngineEndToEnd(t *testing.T) {
	env := enginetest.New(t)
	img := env.BusyboxImage()
	project := env.Prefix + "shop"
	eng := env.Engine

	// Subscribe before the containers exist, as devd does, so the stream
	// is known to carry everything that follows.
	ctx, cancel := context.WithTimeout(context.Background(), 2*e2eTimeout)
	defer cancel()
	evCtx, stopEvents := context.WithCancel(ctx)
	events, evErrs := eng.Events(evCtx, project, time.Time{})

	apiID := env.RunContainer(enginetest.ContainerOptions{
		Name: "api-1", Image: img, Init: true,
		Cmd:    []string{"httpd", "-f", "-p", "8080"},
		Labels: enginetest.ComposeLabels(project, "api", 1),
	})
	oneoff := enginetest.ComposeLabels(project, "api", 2)
	oneoff[engine.LabelOneoff] = "True"
	oneoffID := env.RunContainer(enginetest.ContainerOptions{Name: "api-run", Image: img, Init: true, Labels: oneoff})
	noHash := enginetest.ComposeLabels(project, "worker", 1)
	delete(noHash, engine.LabelConfigHash)
	env.RunContainer(enginetest.ContainerOptions{Name: "worker-1", Image: img, Init: true, Labels: noHash})

	t.Run("ProjectContainers", func(t *testing.T) {
		list, err := eng.ProjectContainers(ctx, project)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != apiID {
			t.Fatalf("ProjectContainers = %+v, want only the api-1 container", list)
		}
		c := list[0]
		if c.Name != env.Prefix+"api-1" || c.Project != project || c.Service != "api" || c.Number != 1 ||
			!c.Running || c.State != "running" || c.StartedAt.IsZero() || len(c.IPs) != 1 {
			t.Errorf("container = %+v", c)
		}
		if eng.HostCanReachContainerIPs() {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(c.IPs[0], "8080"), e2eTimeout)
			if err != nil {
				t.Fatalf("HostCanReachContainerIPs is true but dialling the container failed: %v", err)
			}
			conn.Close()
		}
	})

	t.Run("Exec", func(t *testing.T) {
		res, err := eng.Exec(ctx, apiID, []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, engine.ExecOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 3 || !strings.Contains(string(res.Output), "out\n") || !strings.Contains(string(res.Output), "err\n") {
			t.Errorf("Exec = exit %d, output %q; want exit 3 with out and err", res.ExitCode, res.Output)
		}

		res, err = eng.Exec(ctx, apiID, []string{"sh", "-c", `echo "$(id -u):$(pwd):$GREETING"`},
			engine.ExecOptions{User: "1000", WorkingDir: "/tmp", Env: []string{"GREETING=hi"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(res.Output)); res.ExitCode != 0 || got != "1000:/tmp:hi" {
			t.Errorf("Exec with options = exit %d, output %q; want 1000:/tmp:hi", res.ExitCode, got)
		}

		res, err = eng.Exec(ctx, apiID, []string{"head", "-c", "100000", "/bin/busybox"}, engine.ExecOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || len(res.Output) != 64<<10 {
			t.Errorf("Exec of large output = exit %d, %d bytes; want exit 0, 64 KiB", res.ExitCode, len(res.Output))
		}

		res, err = eng.Exec(ctx, apiID, []string{"no-such-command"}, engine.ExecOptions{})
		if err == nil && res.ExitCode != 126 && res.ExitCode != 127 {
			t.Errorf("Exec of a missing command = exit %d, output %q; want an error or exit 126/127", res.ExitCode, res.Output)
		}
	})

	t.Run("CopyRoundTrip", func(t *testing.T) {
		content := "hello from the host\n"
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		writeTarFile(t, tw, "tmp/devd copy/dir/héllo.txt", content)
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := eng.CopyToContainer(ctx, apiID, "/", &buf); err != nil {
			t.Fatal(err)
		}

		rc, err := eng.CopyFromContainer(ctx, apiID, "/tmp/devd copy/dir/héllo.txt")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		tr := tar.NewReader(rc)
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name != "héllo.txt" || string(got) != content {
			t.Errorf("copied back %q with %q, want héllo.txt with %q", hdr.Name, got, content)
		}

		if _, err := eng.CopyFromContainer(ctx, apiID, "/tmp/no such file"); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("CopyFromContainer of a missing path = %v, want ErrNotFound", err)
		}
	})

	t.Run("StatAndReplace", func(t *testing.T) {
		res, err := eng.Exec(ctx, apiID, []string{"sh", "-c", "mkdir -p /srv/stat/dir/sub && echo x > /srv/stat/file && ln -s /srv/stat/dir /srv/stat/link"}, engine.ExecOptions{})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("preparing: %v, exit %d: %s", err, res.ExitCode, res.Output)
		}
		for _, tt := range []struct {
			path string
			dir  bool
			link string
		}{
			{"/srv/stat/dir", true, ""},
			{"/srv/stat/file", false, ""},
			{"/srv/stat/link", false, "/srv/stat/dir"},
			{"/srv/stat/link/", true, ""},
			{"/srv/stat/link/sub", true, ""},
		} {
			st, err := eng.StatPath(ctx, apiID, tt.path)
			if err != nil || st.Mode.IsDir() != tt.dir || st.LinkTarget != tt.link {
				t.Errorf("StatPath(%s) = %+v, %v; want folder %v, link target %q", tt.path, st, err, tt.dir, tt.link)
			}
		}
		if _, err := eng.StatPath(ctx, apiID, "/srv/stat/missing"); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("StatPath of a missing path = %v, want ErrNotFound", err)
		}
		if _, err := eng.StatPath(ctx, apiID, "/srv/stat/file/below"); err == nil || errors.Is(err, engine.ErrNotFound) {
			t.Errorf("StatPath below a file = %v, want an error other than ErrNotFound", err)
		}

		// A file entry replaces a folder, and a folder entry a file.
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		writeTarFile(t, tw, "srv/stat/dir", "now a file")
		if err := tw.WriteHeader(&tar.Header{Name: "srv/stat/file/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := eng.CopyToContainer(ctx, apiID, "/", &buf); err != nil {
			t.Fatal(err)
		}
		if st, err := eng.StatPath(ctx, apiID, "/srv/stat/dir"); err != nil || !st.Mode.IsRegular() {
			t.Errorf("after the copy, /srv/stat/dir = %+v, %v; want a file", st, err)
		}
		if st, err := eng.StatPath(ctx, apiID, "/srv/stat/file"); err != nil || !st.Mode.IsDir() {
			t.Errorf("after the copy, /srv/stat/file = %+v, %v; want a folder", st, err)
		}
	})

	t.Run("SignalAndStart", func(t *testing.T) {
		if err := eng.SignalContainer(ctx, oneoffID, "SIGKILL"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			c, err := eng.InspectContainer(ctx, oneoffID)
			return err == nil && !c.Running
		})
		if _, err := eng.Exec(ctx, oneoffID, []string{"true"}, engine.ExecOptions{}); !errors.Is(err, engine.ErrNotRunning) {
			t.Errorf("Exec in a stopped container = %v, want ErrNotRunning", err)
		}
		if err := eng.StartContainer(ctx, oneoffID); err != nil {
			t.Fatal(err)
		}
		if err := eng.StartContainer(ctx, oneoffID); err != nil {
			t.Errorf("starting a running container: %v", err)
		}
		c, err := eng.InspectContainer(ctx, oneoffID)
		if err != nil || !c.Running {
			t.Errorf("after start: %+v, %v", c, err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		_, err := eng.InspectContainer(ctx, env.Prefix+"no-such-container")
		if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), "no-such-container") {
			t.Errorf("InspectContainer of a missing container = %v, want ErrNotFound naming it", err)
		}
		err = eng.RestartContainer(ctx, env.Prefix+"no-such-container", time.Second)
		if !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("RestartContainer of a missing container = %v, want ErrNotFound", err)
		}
	})

	t.Run("RestartEvents", func(t *testing.T) {
		before, err := eng.InspectContainer(ctx, apiID)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.RestartContainer(ctx, apiID, 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		after, err := eng.InspectContainer(ctx, apiID)
		if err != nil {
			t.Fatal(err)
		}
		if !after.Running || !after.StartedAt.After(before.StartedAt) {
			t.Errorf("after restart: running %v, started %v (before %v)", after.Running, after.StartedAt, before.StartedAt)
		}

		var seen []string
		sawDie := false
		deadline := time.After(e2eTimeout)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("event stream ended: %v; saw %v", <-evErrs, seen)
				}
				if strings.HasPrefix(ev.Action, "exec_") || ev.Action == "extract-to-dir" || ev.Action == "archive-path" {
					t.Errorf("noise event %q passed the filter", ev.Action)
				}
				if ev.ContainerID != apiID {
					continue
				}
				if ev.Service != "api" || ev.Number != 1 {
					t.Errorf("event %+v lacks the service labels", ev)
				}
				seen = append(seen, ev.Action)
				if ev.Action == "die" && ev.Time.After(before.StartedAt) {
					sawDie = true
				}
				if sawDie && ev.Action == "start" {
					checkReplay(t, eng, project, apiID, before.StartedAt)
					return
				}
			case <-deadline:
				t.Fatalf("no die then start event for the restart; saw %v", seen)
			}
		}
	})

	stopEvents()
	for range events {
	}
	if err := <-evErrs; !errors.Is(err, context.Canceled) {
		t.Errorf("event stream ended with %v, want context.Canceled", err)
	}
}

// checkReplay subscribes again from a past time, as devd does after a
// stream ends, and expects the restart's die event to be sent again.
func checkReplay(t *testing.T, eng *engine.Client, project, id string, since time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	events, errs := eng.Events(ctx, project, since)
	for ev := range events {
		if ev.ContainerID == id && ev.Action == "die" {
			return
		}
	}
	t.Errorf("replay from %v ended without the die event: %v", since, <-errs)
}

func writeTarFile(t *testing.T, tw *tar.Writer, name, content string) {
	t.Helper()
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Now()}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the end-to-end timeout passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	const interval = 50 * time.Millisecond
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	deadline := time.After(e2eTimeout)
	for !cond() {
		select {
		case <-ticker.C:
		case <-deadline:
			t.Fatal("condition not met in time")
		}
	}
}
