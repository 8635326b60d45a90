package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrAlreadyRunning is returned, wrapped, by Listen when another devd serves
// the same project.
var ErrAlreadyRunning = errors.New("devd is already running")

// probeTimeout bounds the status request that distinguishes a live devd
// from a stale socket.
const probeTimeout = 2 * time.Second

// maxSocketPath is the longest socket path the kernel accepts: sun_path
// holds 108 bytes on Linux and 104 on macOS and the BSDs, NUL included.
const maxSocketPath = 103

// SocketPath returns the control socket's path for a Compose project:
// $XDG_RUNTIME_DIR/devd/<project>.sock, or /tmp/devd-<uid>/<project>.sock
// when XDG_RUNTIME_DIR is unset. It creates the folder with mode 0700 and
// returns an error when the folder belongs to another user.
func SocketPath(project string) (string, error) {
	dir, err := socketDir()
	if err != nil {
		return "", err
	}
	if err := ensurePrivateDir(dir); err != nil {
		return "", err
	}
	return socketFile(dir, project)
}

// socketDir returns the folder of the control sockets without creating it.
func socketDir() (string, error) {
	if runtime := os.Getenv("XDG_RUNTIME_DIR"); runtime != "" {
		if !filepath.IsAbs(runtime) {
			return "", fmt.Errorf("invalid XDG_RUNTIME_DIR %q: it must be an absolute path", runtime)
		}
		return filepath.Join(runtime, "devd"), nil
	}
	return filepath.Join("/tmp", "devd-"+strconv.Itoa(os.Getuid())), nil
}

func socketFile(dir, project string) (string, error) {
	if project == "" || project == "." || project == ".." || strings.ContainsAny(project, "/\x00") {
		return "", fmt.Errorf("invalid project name %q for a control socket", project)
	}
	path := filepath.Join(dir, project+".sock")
	if len(path) > maxSocketPath {
		return "", fmt.Errorf("control socket path %s is longer than the %d bytes a Unix socket path may have: "+
			"set XDG_RUNTIME_DIR to a shorter folder or use a shorter project name (-p)", path, maxSocketPath)
	}
	return path, nil
}

// ensurePrivateDir creates dir with mode 0700 when missing, and checks that
// it is a real folder owned by the current user. A folder under /tmp could
// have been made by another user to catch devd's socket.
func ensurePrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		if runtime := os.Getenv("XDG_RUNTIME_DIR"); errors.Is(err, os.ErrNotExist) && runtime != "" {
			return fmt.Errorf("creating the control socket folder: XDG_RUNTIME_DIR is %s, which does not exist: "+
				"create it with mode 0700 or unset XDG_RUNTIME_DIR", runtime)
		}
		return fmt.Errorf("creating the control socket folder: %w", err)
	}
	if err := checkPrivateDir(dir); err != nil {
		return err
	}

	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking the control socket folder: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restricting the control socket folder %s to mode 0700: %w", dir, err)
		}
	}
	return nil
}

// checkPrivateDir returns an error unless dir is a folder, not a symbolic
// link, owned by the current user.
func checkPrivateDir(dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking the control socket folder: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("control socket folder %s is not a folder (mode %s): remove it and try again", dir, info.Mode())
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("checking the owner of the control socket folder %s: unsupported file system", dir)
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("control socket folder %s belongs to uid %d, not to you (uid %d): "+
			"another user may be trying to intercept devd; remove the folder or set XDG_RUNTIME_DIR", dir, st.Uid, uid)
	}
	return nil
}

// Listen opens the control socket of a project and makes this process the
// project's only devd. It holds an exclusive lock on <project>.lock next to
// the socket until close is called. When another devd holds the lock or
// responds on the socket, Listen returns an error wrapping ErrAlreadyRunning
// that names its process ID. A socket left by a devd that was killed is
// removed. The socket has mode 0600. close closes the listener, removes the
// socket and releases the lock; it is safe to call more than once.
func Listen(project string) (ln net.Listener, close func(), err error) {
	path, err := SocketPath(project)
	if err != nil {
		return nil, nil, err
	}

	lock, err := lockProject(project, path)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()

	if err := removeStaleSocket(project, path); err != nil {
		return nil, nil, err
	}

	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("listening on control socket %s: %w", path, err)
	}
	// The folder is 0700, so no other user can reach the socket in the
	// moment between bind and chmod.
	if err := os.Chmod(path, 0o600); err != nil {
		ul.Close()
		return nil, nil, fmt.Errorf("restricting control socket %s to mode 0600: %w", path, err)
	}

	var once sync.Once
	close = func() {
		once.Do(func() {
			ul.Close()
			// Close unlinks the socket already; this covers a listener whose
			// unlink-on-close setting was changed.
			os.Remove(path)
			// NOTE: the lock file stays. Removing it would let a devd that
			// opened it just before the removal lock a file that no longer
			// has a name, while a third devd locks a new one.
			lock.Close()
		})
	}
	return ul, close, nil
}

// lockProject takes the project's lock file next to the socket. flock locks
// are released by the kernel when the process dies, so a killed devd never
// leaves a stale lock.
func lockProject(project, socket string) (*os.File, error) {
	lockPath := strings.TrimSuffix(socket, ".sock") + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return f, nil
	}
	f.Close()

	if !errors.Is(err, unix.EWOULDBLOCK) {
		return nil, fmt.Errorf("locking %s: %w", lockPath, err)
	}
	if pid, ok := probe(socket); ok {
		return nil, alreadyRunning(project, pid, socket)
	}
	return nil, fmt.Errorf("%w for project %q: the lock file %s is held by a devd that is starting or stopping; "+
		"wait a moment and try again, or stop that devd", ErrAlreadyRunning, project, lockPath)
}

// removeStaleSocket removes a socket that no devd responds on. It is called
// with the lock held, so no other devd is about to bind it.
func removeStaleSocket(project, path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking control socket: %w", err)
	}
	if info.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket: remove it and try again", path)
	}

	// A devd that predates the lock file, or whose lock file was deleted,
	// could still be serving.
	if pid, ok := probe(path); ok {
		return alreadyRunning(project, pid, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale control socket: %w", err)
	}
	return nil
}

func alreadyRunning(project string, pid int, socket string) error {
	return fmt.Errorf("%w for project %q (pid %d, control socket %s): "+
		"use 'devd status' to see it, or stop it before starting another", ErrAlreadyRunning, project, pid, socket)
}

// probe reports whether a devd responds to GET /v1/status on the socket, and
// its process ID.
func probe(path string) (pid int, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()

	c := newClient(path)
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return 0, false
	}
	return st.PID, true
}
