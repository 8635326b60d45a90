// Package enginetest sets up what devd's end-to-end tests run against on a
// real Docker engine: a small busybox image built locally (no registry is
// needed) and containers carrying Compose labels. Everything it creates is
// named with a random prefix and removed when the test ends.
package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// E2EEnv names the environment variable that, set to 1, turns a missing
// engine or busybox from a skipped test into a failed one.
const E2EEnv = "DEVD_E2E"

// BusyboxPath is the static busybox the test image is built from (Debian's
// busybox-static package).
const BusyboxPath = "/bin/busybox"

// cleanupTimeout bounds the removal of test containers and images.
const cleanupTimeout = 30 * time.Second

// Env is one test's access to the engine. Use it from the test's goroutine.
type Env struct {
	// Engine is the devd client under test.
	Engine *engine.Client

	// API is a raw SDK client for setup the product never does (building
	// images, creating containers).
	API *client.Client

	// Prefix starts the name of everything this Env creates.
	Prefix string

	t       testing.TB
	network string // created by the first RunContainer
}

// New connects to the engine the docker CLI would use. It skips the test
// when no engine responds, or fails it when DEVD_E2E=1.
func New(t testing.TB) *Env {
	t.Helper()
	ep, err := engine.ResolveEndpoint(os.Getenv)
	if err != nil {
		unavailable(t, "resolving the Docker endpoint: %v", err)
	}
	ctx := context.Background()
	eng, err := engine.Connect(ctx, ep)
	if err != nil {
		unavailable(t, "%v", err)
	}
	t.Cleanup(func() { _ = eng.Close() })

	api, err := client.NewClientWithOpts(client.WithHost(ep.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("creating docker client: %v", err)
	}
	t.Cleanup(func() { _ = api.Close() })

	return &Env{Engine: eng, API: api, Prefix: "devd-enginetest-" + randomHex(4) + "-", t: t}
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(E2EEnv) == "1" {
		t.Fatalf("%s (%s=1 requires it)", msg, E2EEnv)
	}
	t.Skipf("skipping end-to-end test: %s (set %s=1 to fail instead)", msg, E2EEnv)
}

// BusyboxImage builds an image from scratch holding a static busybox with
// its applets linked in /bin, a world-writable /tmp, and `sleep 3600` as
// command, and returns its tag. The image is removed when the test ends.
func (e *Env) BusyboxImage() string {
	e.t.Helper()
	return e.BusyboxImageWith(ImageOptions{})
}

// ImageOptions varies the busybox image.
type ImageOptions struct {
	// Name is appended to the image's tag; empty means "busybox".
	Name string

	// Files are added to the image with mode 0755, keyed by absolute path.
	Files map[string][]byte

	// Shell runs in the image after busybox is installed and the files are
	// in place, for example "rm /bin/rm" for an image without rm.
	Shell string
}

// BusyboxImageWith builds the busybox image of BusyboxImage with extra files
// and a final shell step, and returns its tag. The image is removed when the
// test ends.
func (e *Env) BusyboxImageWith(opts ImageOptions) string {
	e.t.Helper()
	if err := checkStatic(BusyboxPath); err != nil {
		unavailable(e.t, "%v; install Debian's busybox-static", err)
	}
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		unavailable(e.t, "reading busybox: %v", err)
	}

	files := map[string][]byte{"busybox": bin}
	var dockerfile strings.Builder
	dockerfile.WriteString("FROM scratch\nCOPY busybox /bin/busybox\n")
	dockerfile.WriteString(`RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp && chmod 1777 /tmp"]` + "\n")
	for i, dst := range slices.Sorted(maps.Keys(opts.Files)) {
		name := fmt.Sprintf("file%d", i)
		files[name] = opts.Files[dst]
		fmt.Fprintf(&dockerfile, "COPY %s %s\n", name, dst)
	}
	if opts.Shell != "" {
		cmd, err := json.Marshal([]string{"/bin/busybox", "sh", "-c", opts.Shell})
		if err != nil {
			e.t.Fatalf("encoding image step: %v", err)
		}
		fmt.Fprintf(&dockerfile, "RUN %s\n", cmd)
	}
	dockerfile.WriteString("ENV PATH=/bin\nCMD [\"sleep\", \"3600\"]\n")
	files["Dockerfile"] = []byte(dockerfile.String())

	buildContext, err := tarFiles(files)
	if err != nil {
		e.t.Fatalf("building image context: %v", err)
	}

	name := opts.Name
	if name == "" {
		name = "busybox"
	}
	tag := e.Prefix + name + ":latest"
	ctx := context.Background()
	resp, err := e.API.ImageBuild(ctx, buildContext, build.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		// The build needs no network, and this keeps it independent of the
		// engine's default bridge.
		NetworkMode: "none",
	})
	if err != nil {
		e.t.Fatalf("building image %s: %v", tag, err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, err := e.API.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			e.t.Errorf("removing image %s: %v", tag, err)
		}
	})
	defer resp.Body.Close()
	if err := readBuildOutput(resp.Body); err != nil {
		e.t.Fatalf("building image %s: %v", tag, err)
	}
	return tag
}

// checkStatic fails for a dynamically linked binary, which cannot run in a
// scratch image.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// readBuildOutput drains the build's JSON message stream and returns the
// first error it reports.
func readBuildOutput(r io.Reader) error {
	dec := json.NewDecoder(r)
	var log strings.Builder
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading build output: %w", err)
		}
		log.WriteString(msg.Stream)
		if msg.Error != "" {
			return fmt.Errorf("%s\n%s", msg.Error, log.String())
		}
	}
}

// ContainerOptions describes a test container.
type ContainerOptions struct {
	Name   string // appended to the Env's prefix
	Image  string
	Cmd    []string // empty means the image's command
	Labels map[string]string
	User   string
	Tty    bool
	Init   bool // run docker-init as PID 1, so SIGTERM stops `sleep`

	ReadOnly bool              // Compose read_only: a read-only root file system
	Tmpfs    map[string]string // Compose tmpfs: destination to mount options
	Mounts   []mount.Mount     // volumes and binds; anonymous volumes are removed with the container
}

// RunContainer creates and starts a container and returns its id. The
// container and its anonymous volumes are removed when the test ends.
//
// Containers join a bridge network of the Env's own, as Compose services
// join their project's network, rather than the engine's default bridge.
func (e *Env) RunContainer(opts ContainerOptions) string {
	e.t.Helper()
	ctx := context.Background()
	name := e.Prefix + opts.Name
	init := opts.Init
	created, err := e.API.ContainerCreate(ctx,
		&container.Config{Image: opts.Image, Cmd: opts.Cmd, Labels: opts.Labels, User: opts.User, Tty: opts.Tty},
		&container.HostConfig{Init: &init, NetworkMode: container.NetworkMode(e.Network()),
			ReadonlyRootfs: opts.ReadOnly, Tmpfs: opts.Tmpfs, Mounts: opts.Mounts},
		nil, nil, name)
	if err != nil {
		e.t.Fatalf("creating container %s: %v", name, err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		err := e.API.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil {
			e.t.Errorf("removing container %s: %v", name, err)
		}
	})
	if err := e.API.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		e.t.Fatalf("starting container %s: %v", name, err)
	}
	return created.ID
}

// SmallVolume returns an anonymous tmpfs volume of the local driver at dst,
// limited to size ("64k"), for tests that fill it up. Unlike a tmpfs mount,
// such a volume is mounted by the engine itself, so the archive API writes
// into it. In Compose it is a volume with driver_opts type: tmpfs, device:
// tmpfs and o: size=64k.
func SmallVolume(dst, size string) mount.Mount {
	return mount.Mount{Type: mount.TypeVolume, Target: dst, VolumeOptions: &mount.VolumeOptions{
		DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=" + size}},
	}}
}

// Network returns the name of the Env's bridge network, creating it on first
// use. It is removed when the test ends, after the containers on it.
func (e *Env) Network() string {
	e.t.Helper()
	if e.network != "" {
		return e.network
	}
	name := e.Prefix + "net"
	if _, err := e.API.NetworkCreate(context.Background(), name, network.CreateOptions{Driver: "bridge"}); err != nil {
		e.t.Fatalf("creating network %s: %v", name, err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := e.API.NetworkRemove(ctx, name); err != nil {
			e.t.Errorf("removing network %s: %v", name, err)
		}
	})
	e.network = name
	return name
}

// ComposeLabels returns the labels Compose puts on a service container, so
// a test container is found the way devd finds real ones.
func ComposeLabels(project, service string, number int) map[string]string {
	return map[string]string{
		engine.LabelProject:    project,
		engine.LabelService:    service,
		engine.LabelNumber:     strconv.Itoa(number),
		engine.LabelOneoff:     "False",
		engine.LabelConfigHash: "0000000000000000000000000000000000000000000000000000000000000000",
	}
}

// tarFiles returns a tar stream of regular files, mode 0755.
func tarFiles(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
