// Command measure times, on the machine it runs on, the ways devd can send
// a restart request to the supervisor in a container:
//
//	(a) HTTP over the Unix socket in the bind-mounted control folder,
//	(b) `docker exec` of `devd supervise ctl` through the Engine API,
//	(c) a signal through the Engine API (ContainerKill),
//
// and, for reference, a container restart. It needs a Docker engine and an
// image with node and a shell (scripts/node-image.sh prints one). Run it
// from the repository root:
//
//	go run ./supervisor/internal/measure -n 20
//
// The command under the supervisor is trivial (`sleep`, or a node script
// that only records signals), so the numbers are the request overhead, not
// an application's restart time.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/supervisor"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// pollTimeout bounds each wait for a container or its app.
const pollTimeout = 10 * time.Second

// recorder is the node app for (c): it appends the wall-clock time in
// microseconds at which each SIGUSR2 arrived to /out/usr2, and creates
// /out/ready once it listens for the signal.
const recorder = `
const fs = require('fs');
process.on('SIGUSR2', () => {
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  fs.appendFileSync('/out/usr2', us + '\n');
});
fs.writeFileSync('/out/ready', '');
setInterval(() => {}, 1 << 30);
`

func main() {
	n := flag.Int("n", 20, "samples per method")
	devd := flag.String("devd", "", "static devd binary with the supervise command (default: build ./cmd/devd)")
	image := flag.String("image", envOr("DEVD_NODE_IMAGE", "devd-local/node:20"), "image with node and a shell")
	flag.Parse()

	if err := run(*n, *devd, *image); err != nil {
		fmt.Fprintf(os.Stderr, "measure: %v\n", err)
		os.Exit(1)
	}
}

func run(n int, devd, image string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "devd-measure-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if devd == "" {
		devd = filepath.Join(tmp, "devd")
		build := exec.Command("go", "build", "-trimpath", "-o", devd, "./cmd/devd")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("building devd: %w\n%s", err, out)
		}
	}

	ep, err := engine.ResolveEndpoint(os.Getenv)
	if err != nil {
		return err
	}
	eng, err := engine.Connect(ctx, ep)
	if err != nil {
		return err
	}
	defer eng.Close()
	api, err := client.NewClientWithOpts(client.WithHost(ep.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("creating docker client: %w", err)
	}
	defer api.Close()
	version, err := api.ServerVersion(ctx)
	if err != nil {
		return fmt.Errorf("reading the engine version: %w", err)
	}

	ctlDir := filepath.Join(tmp, "run")
	outDir := filepath.Join(tmp, "out")
	for _, d := range []string{ctlDir, outDir} {
		if err := os.Mkdir(d, 0o777); err != nil {
			return err
		}
	}
	prefix := "devd-measure-" + randomHex(4) + "-"
	lab := &lab{api: api, eng: eng, image: image, devd: devd, ctlDir: ctlDir, outDir: outDir}
	defer lab.removeAll()

	trivial, err := lab.start(ctx, prefix+"sleep", []string{"sleep", "3600"})
	if err != nil {
		return err
	}
	sock := supervisor.NewSocketClient(filepath.Join(ctlDir, engine.ShortID(trivial)+".sock"))
	if err := waitStatus(ctx, sock); err != nil {
		return err
	}
	signalled, err := lab.start(ctx, prefix+"signal", []string{"node", "-e", recorder})
	if err != nil {
		return err
	}

	fmt.Printf("engine %s (API %s), %d samples each; median, p90 and min in ms\n\n", version.Version, version.APIVersion, n)
	m := &measurements{n: n}
	var lastRestart supervisor.RestartResult
	m.add("(a) socket: status", func() error { _, err := sock.Status(ctx); return err })
	m.add("(a) socket: restart of sleep", func() error { var err error; lastRestart, err = sock.Restart(ctx); return err })
	m.add("(b) docker exec: ctl status", func() error { return execOK(ctx, eng, trivial, supervisor.ExecArgs("status")) })
	m.add("(b) docker exec: ctl restart of sleep", func() error { return execOK(ctx, eng, trivial, supervisor.ExecArgs("restart")) })
	if m.err == nil {
		call, delivered, err := measureSignal(ctx, eng, signalled, outDir, n)
		m.err = err
		m.results = append(m.results, summarize("(c) ContainerKill SIGUSR2: API call", call), summarize("(c) ContainerKill SIGUSR2: until the app has it", delivered))
	}
	m.add("(ref) container restart of sleep", func() error { return eng.RestartContainer(ctx, trivial, 10*time.Second) })
	if m.err != nil {
		return m.err
	}

	for _, r := range m.results {
		fmt.Println(r)
	}
	fmt.Printf("\nlast socket restart as the supervisor timed it: stop %d ms, start %d ms\n", lastRestart.StopMS, lastRestart.StartMS)
	fmt.Println("(c) marks a container without a configured stop signal as stopped by hand: its restart policy no longer applies.")
	return nil
}

// measurements collects samples until the first error.
type measurements struct {
	n       int
	results []result
	err     error
}

// add times fn n times, unless an earlier measurement failed.
func (m *measurements) add(name string, fn func() error) {
	if m.err != nil {
		return
	}
	var ds []time.Duration
	for range m.n {
		begin := time.Now()
		if err := fn(); err != nil {
			m.err = fmt.Errorf("%s: %w", name, err)
			return
		}
		ds = append(ds, time.Since(begin))
	}
	m.results = append(m.results, summarize(name, ds))
}

// lab creates the containers and removes them.
type lab struct {
	api            *client.Client
	eng            *engine.Client
	image, devd    string
	ctlDir, outDir string
	ids            []string
}

// start runs command under the supervisor in a new container.
func (l *lab) start(ctx context.Context, name string, command []string) (string, error) {
	entrypoint := append([]string{supervisor.BinaryPath, "supervise", "--grace", "2s", "--"}, command...)
	created, err := l.api.ContainerCreate(ctx,
		&container.Config{Image: l.image, Entrypoint: entrypoint, Cmd: []string{}},
		&container.HostConfig{
			Binds: []string{
				l.devd + ":" + supervisor.BinaryPath + ":ro",
				l.ctlDir + ":" + supervisor.ControlDir,
				l.outDir + ":/out",
			},
			NetworkMode: "none",
		}, nil, nil, name)
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", name, err)
	}
	l.ids = append(l.ids, created.ID)
	if err := l.eng.StartContainer(ctx, created.ID); err != nil {
		return "", err
	}
	return created.ID, nil
}

func (l *lab) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range l.ids {
		if err := l.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
			fmt.Fprintf(os.Stderr, "measure: removing container %s: %v\n", engine.ShortID(id), err)
		}
	}
}

// measureSignal sends SIGUSR2 n times and returns, per signal, how long the
// API call took and how long until the app recorded the signal.
func measureSignal(ctx context.Context, eng *engine.Client, id, outDir string, n int) (call, delivered []time.Duration, err error) {
	// A signal before node has installed its handler would end it.
	if err := waitFor(func() bool { _, err := os.Stat(filepath.Join(outDir, "ready")); return err == nil }); err != nil {
		return nil, nil, fmt.Errorf("waiting for the recorder: %w", err)
	}
	record := filepath.Join(outDir, "usr2")
	for i := range n {
		begin := time.Now()
		if err := eng.SignalContainer(ctx, id, "SIGUSR2"); err != nil {
			return nil, nil, err
		}
		call = append(call, time.Since(begin))
		if err := waitFor(func() bool { return len(readLines(record)) > i }); err != nil {
			return nil, nil, fmt.Errorf("waiting for signal %d to be recorded: %w", i+1, err)
		}
		lines := readLines(record)
		us, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", record, err)
		}
		delivered = append(delivered, time.UnixMicro(us).Sub(begin))
	}
	return call, delivered, nil
}

// waitFor polls cond every millisecond until it holds, for up to
// pollTimeout.
func waitFor(cond func() bool) error {
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(pollTimeout)
	for !cond() {
		select {
		case <-ticker.C:
		case <-deadline:
			return fmt.Errorf("gave up after %s", pollTimeout)
		}
	}
	return nil
}

func readLines(path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(raw))
}

func waitStatus(ctx context.Context, c *supervisor.Client) error {
	var err error
	if waitFor(func() bool { _, err = c.Status(ctx); return err == nil }) != nil {
		return fmt.Errorf("the supervisor's socket did not respond: %w", err)
	}
	return nil
}

func execOK(ctx context.Context, eng *engine.Client, id string, cmd []string) error {
	res, err := eng.Exec(ctx, id, cmd, engine.ExecOptions{})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%q exited with %d: %s", cmd, res.ExitCode, res.Output)
	}
	return nil
}

type result struct {
	name            string
	median, p90, lo time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%-48s %8.2f %8.2f %8.2f", r.name, ms(r.median), ms(r.p90), ms(r.lo))
}

func summarize(name string, ds []time.Duration) result {
	if len(ds) == 0 {
		return result{name: name}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return result{name: name, median: s[len(s)/2], p90: s[len(s)*9/10], lo: s[0]}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
