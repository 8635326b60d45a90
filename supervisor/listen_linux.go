//go:build linux

package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// socketMode lets the host user connect whatever the container's uid; the
// folders around the socket limit who can reach it (see the package doc).
const socketMode = 0o666

// listen opens the control sockets. A socket that cannot be opened is
// logged and left out: the supervisor still forwards signals and reaps, and
// the other socket may work.
func (s *supervisor) listen() []net.Listener {
	var out []net.Listener

	path := filepath.Join(s.cfg.ControlDir, socketName(readContainerID(), hostname()))
	l, err := listenFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.log.Info("no control folder; restarts only through docker exec", "control_dir", s.cfg.ControlDir)
	case errors.Is(err, fs.ErrPermission):
		s.log.Warn("cannot create the control socket; make the control folder writable for the container's user (mode 1777)",
			"path", path, "uid", os.Getuid(), "error", err)
	case err != nil:
		s.log.Warn("cannot create the control socket", "path", path, "error", err)
	default:
		s.log.Debug("control socket listening", "path", path)
		out = append(out, l)
	}

	if s.cfg.AbstractSocket != "-" {
		l, err := net.Listen("unix", s.cfg.AbstractSocket)
		if err != nil {
			// Another supervisor shares the network namespace
			// (network_mode: service:...) and holds the name.
			s.log.Warn("cannot listen on the abstract control socket", "name", s.cfg.AbstractSocket, "error", err)
		} else {
			out = append(out, &peerCheckListener{Listener: l, log: s.log, uid: uint32(os.Getuid())})
		}
	}
	return out
}

// listenFile listens on a Unix socket at path, replacing the socket a
// previous run of the same container left, and makes it connectable for
// any uid.
func listenFile(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing old socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, socketMode); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("making socket %s connectable: %w", path, err)
	}
	return l, nil
}

// readContainerID returns the container's id from /proc/self/mountinfo, or
// "" when it cannot be found there.
func readContainerID() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	return containerIDFromMountinfo(f)
}

func hostname() string {
	name, _ := os.Hostname()
	return name
}

// peerCheckListener accepts only peers running as root or as uid. An
// abstract socket has no file permissions, so this is its access check.
type peerCheckListener struct {
	net.Listener
	log hclog.Logger
	uid uint32
}

func (l *peerCheckListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(conn)
		if err == nil && (uid == 0 || uid == l.uid) {
			return conn, nil
		}
		l.log.Warn("refused a control connection from another user", "peer_uid", uid, "error", err)
		_ = conn.Close()
	}
}

// peerUID returns the uid of the process at the other end of a Unix
// socket connection.
func peerUID(conn net.Conn) (uint32, error) {
	p, err := peerCred(conn)
	return p.uid, err
}

// peerCred returns the uid and the pid of the process at the other end of a
// Unix socket connection. The kernel reports the pid as seen from the
// supervisor's pid namespace, and 0 for a process outside it, such as devd
// on the host.
func peerCred(conn net.Conn) (peerInfo, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return peerInfo{}, fmt.Errorf("not a Unix socket connection: %T", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peerInfo{}, err
	}
	var cred *syscall.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil {
		return peerInfo{}, err
	}
	if credErr != nil {
		return peerInfo{}, fmt.Errorf("reading peer credentials: %w", credErr)
	}
	return peerInfo{uid: cred.Uid, pid: cred.Pid, ok: true}, nil
}
