package control_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/devdtool/devd/control"
	"golang.org/x/sys/unix"
)

// nobody is the user ID of the "nobody" user, which the peer test's client
// runs as.
const nobody = 65534

func TestSocketPath(t *testing.T) {
	dir := runtimeDir(t)

	path, err := control.SocketPath("shop")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "devd", "shop.sock"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	info, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("folder mode %o, want 700", perm)
	}
}

func TestSocketPathWithoutRuntimeDir(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	path, err := control.SocketPath("shop")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/tmp/devd-" + strconv.Itoa(os.Getuid()) + "/shop.sock"; path != want {
		t.Errorf("path %s, want %s", path, want)
	}
}

func TestSocketPathRejects(t *testing.T) {
	t.Run("invalid project", func(t *testing.T) {
		runtimeDir(t)
		for _, name := range []string{"", "..", "a/b"} {
			if _, err := control.SocketPath(name); err == nil || !strings.Contains(err.Error(), "invalid project name") {
				t.Errorf("project %q: %v, want an invalid project name error", name, err)
			}
		}
	})

	t.Run("path too long", func(t *testing.T) {
		runtimeDir(t)
		_, err := control.SocketPath(strings.Repeat("p", 100))
		if err == nil || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
			t.Errorf("got %v, want an error that suggests a shorter XDG_RUNTIME_DIR", err)
		}
	})

	t.Run("folder is a symbolic link", func(t *testing.T) {
		dir := runtimeDir(t)
		if err := os.Symlink(t.TempDir(), filepath.Join(dir, "devd")); err != nil {
			t.Fatal(err)
		}
		_, err := control.SocketPath("shop")
		if err == nil || !strings.Contains(err.Error(), "is not a folder") {
			t.Errorf("got %v, want a not-a-folder error", err)
		}
	})

	t.Run("folder of another user", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("making a folder of another user needs root")
		}
		dir := runtimeDir(t)
		sockets := filepath.Join(dir, "devd")
		if err := os.Mkdir(sockets, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(sockets, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		_, err := control.SocketPath("shop")
		if err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Errorf("got %v, want an error naming the owner", err)
		}
		if _, err := control.Dial("shop"); err == nil {
			t.Error("Dial accepted a folder of another user")
		}
	})

	t.Run("loose folder mode is fixed", func(t *testing.T) {
		dir := runtimeDir(t)
		sockets := filepath.Join(dir, "devd")
		if err := os.Mkdir(sockets, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(sockets, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := control.SocketPath("shop"); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(sockets)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o700 {
			t.Errorf("folder mode %o, want 700", perm)
		}
	})
}

func TestSocketMode(t *testing.T) {
	serve(t, newBackend())
	path, err := control.SocketPath("shop")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Type() != os.ModeSocket {
		t.Errorf("%s has mode %s, want a socket", path, info.Mode())
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket mode %o, want 600", perm)
	}
}

func TestSocketRejectsOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running a client as another user needs root")
	}
	serve(t, newBackend())
	dir := os.Getenv("XDG_RUNTIME_DIR")
	socket, err := control.SocketPath("shop")
	if err != nil {
		t.Fatal(err)
	}
	client := peerClient(t)

	// With the socket's mode and folder as Listen made them, the kernel
	// rejects the connection.
	out := runAs(t, client, socket)
	if !strings.Contains(out, "permission denied") {
		t.Errorf("client of uid %d got %q, want permission denied", nobody, out)
	}

	// With the modes loosened, the server's peer check still rejects it.
	for _, p := range []string{dir, filepath.Dir(socket)} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(socket, 0o666); err != nil {
		t.Fatal(err)
	}
	out = runAs(t, client, socket)
	if !strings.HasPrefix(out, "403 ") || !strings.Contains(out, "uid 65534 may not use this devd") {
		t.Errorf("client of uid %d got %q, want 403 naming its uid", nobody, out)
	}

	// The owner is still served.
	if code, body := rawRequest(t, "shop", "GET", "/v1/status"); code != 200 {
		t.Errorf("owner got %d %s", code, body)
	}
}

// peerClient copies the test binary where another user may run it.
func peerClient(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "devd-peer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, "client")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runAs runs the peer client as user ID 65534 and returns its output.
func runAs(t *testing.T, client, socket string) string {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), client)
	cmd.Dir = "/"
	cmd.Env = []string{peerClientEnv + "=" + socket}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the client as uid %d: %v", nobody, err)
	}
	return strings.TrimSpace(string(out))
}

func TestListenReplacesStaleSocket(t *testing.T) {
	runtimeDir(t)
	path, err := control.SocketPath("shop")
	if err != nil {
		t.Fatal(err)
	}
	// A devd killed with SIGKILL leaves its socket behind.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	_, err = control.Dial("shop")
	if !errors.Is(err, control.ErrNotRunning) || !strings.Contains(err.Error(), "stale control socket") {
		t.Errorf("Dial on a stale socket: %v, want ErrNotRunning naming the stale socket", err)
	}

	ln, closeSocket, err := control.Listen("shop")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.NewServer(newBackend(), nil).Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
		closeSocket()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket still there after close: %v", err)
		}
	}()

	c, err := control.Dial("shop")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(testContext(t)); err != nil {
		t.Errorf("status on the new socket: %v", err)
	}
}

func TestSecondListenRejected(t *testing.T) {
	serve(t, newBackend())

	ln, _, err := control.Listen("shop")
	if err == nil {
		ln.Close()
		t.Fatal("second Listen for the same project succeeded")
	}
	if !errors.Is(err, control.ErrAlreadyRunning) || !strings.Contains(err.Error(), "pid 4242") {
		t.Errorf("got %v, want ErrAlreadyRunning naming pid 4242", err)
	}

	// Another project is independent.
	other, closeOther, err := control.Listen("other")
	if err != nil {
		t.Fatalf("Listen for another project: %v", err)
	}
	other.Close()
	closeOther()
}

func TestListenRejectedWhileLocked(t *testing.T) {
	dir := runtimeDir(t)
	if _, err := control.SocketPath("shop"); err != nil {
		t.Fatal(err)
	}
	// A devd that has the lock but no socket yet is starting.
	lock, err := os.OpenFile(filepath.Join(dir, "devd", "shop.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	_, _, err = control.Listen("shop")
	if !errors.Is(err, control.ErrAlreadyRunning) || !strings.Contains(err.Error(), "shop.lock") {
		t.Errorf("got %v, want ErrAlreadyRunning naming the lock file", err)
	}

	// Once the lock is released, Listen succeeds.
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	ln, closeSocket, err := control.Listen("shop")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	closeSocket()
	closeSocket()
}

func TestDialWithoutDevd(t *testing.T) {
	runtimeDir(t)
	_, err := control.Dial("shop")
	if !errors.Is(err, control.ErrNotRunning) {
		t.Fatalf("got %v, want ErrNotRunning", err)
	}
	for _, want := range []string{`no devd is running for project "shop"`, "start it with 'devd'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestListenMissingRuntimeDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	t.Setenv("XDG_RUNTIME_DIR", missing)
	_, _, err := control.Listen("proj")
	if err == nil {
		t.Fatal("Listen with a missing XDG_RUNTIME_DIR succeeded")
	}
	if !strings.Contains(err.Error(), "XDG_RUNTIME_DIR is "+missing+", which does not exist") {
		t.Errorf("error = %q, want it to name XDG_RUNTIME_DIR and %s", err, missing)
	}
}
