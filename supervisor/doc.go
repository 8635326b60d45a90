// Package supervisor is devd's process supervisor for the inside of a
// container, and the host-side client that requests restarts from it.
//
// The devd binary runs it as the container's entrypoint (`devd supervise
// [flags] -- COMMAND...`), as PID 1 or as the child of the engine's init. It
// starts the command in a process group of its own, forwards signals to that
// group and reaps every zombie. On request it stops the group gracefully,
// waits until every member has exited and the service's ports are free, and
// starts the command again.
//
// Restarting the process instead of the container keeps the container, its
// network and its debug port mapping in place. On a 2-core Linux machine
// with Docker 20.10, a restart request for a trivial command took about
// 1.5 ms over the socket, against about 300 ms for a container restart
// (medians of 20, measured with supervisor/internal/measure).
//
// # Control sockets
//
// The supervisor serves a small HTTP API (see [Client]) on two Unix sockets:
//
//   - <control dir>/<container id, 12 digits>.sock, where the control dir is a
//     host folder bind-mounted into the container. devd on the host connects
//     to it directly: no engine round trip.
//   - the abstract socket [AbstractSocket], reachable from any process in the
//     container's network namespace. `docker exec ... devd supervise ctl
//     restart` uses it when the host cannot reach the socket file. That is
//     expected on Docker Desktop, where the engine runs in a VM and host
//     folders are shared with it over a file-sharing protocol that does not
//     carry Unix socket connections (not tested here).
//
// # File API
//
// With --sync-root, a supervisor that runs as root also serves requests
// that copy a tar stream into those folders, stat and read paths in them,
// and delete paths under them (see [Files]). devd then reaches synced files
// without the engine's archive API. Every access goes through an os.Root
// opened at the folder, so no link leads it out, and setuid, setgid and
// sticky bits are dropped. These requests write as root, so they are served
// only to devd on the host and to root in the container. The kernel reports
// a peer outside the container's pid namespace with pid 0 (SO_PEERCRED). Any
// other uid in the container is rejected, even one equal to the host user's.
//
// # Why the socket file is world-writable
//
// The container's process may run under any uid, and devd on the host runs
// as the developer's uid, which is usually different. Connecting to a Unix
// socket needs write permission on the socket file, so the supervisor makes
// it mode 0666. Access is limited by the folders instead: the host side
// mounts a subfolder (mode 1777, so a container user of any uid can create
// the socket) of a folder of mode 0700 owned by the developer, so that no
// other host user can reach the socket file. Inside the container, every
// request is checked against the peer's credentials: only devd on the host,
// root and the supervisor's own uid are served.
//
// The abstract socket has no file permissions; the supervisor accepts only
// peers running as root or as its own uid (checked with SO_PEERCRED), which
// is what `docker exec` gives by default.
//
// # Platform support
//
// The supervisor runs only on Linux (it is built into the static devd
// binary that is bind-mounted into Linux containers); on other systems [Run]
// returns [ErrUnsupported]. The [Client] works on every system.
package supervisor
