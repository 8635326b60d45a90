// Package compose loads a Compose project the way `docker compose` does and
// derives, for each service, the rules devd applies to it: which host folders
// to watch, where their files go in the container, how to restart the service
// and which debug ports to proxy.
package compose

import (
	"strconv"
	"strings"
	"time"
)

// Action is what a change matched by a Trigger makes devd do. The values are
// the ones Compose uses in `develop.watch`.
type Action string

// Actions of a watch trigger.
const (
	ActionSync        Action = "sync"
	ActionRestart     Action = "restart"
	ActionSyncRestart Action = "sync+restart"
	ActionRebuild     Action = "rebuild"
	ActionSyncExec    Action = "sync+exec"
	// ActionHostBuild is devd's own action, not a Compose one: a change runs
	// the service's `x-devd.build` on the host, copies its output into the
	// container and restarts the service.
	ActionHostBuild Action = "host-build"
)

// Syncs reports whether the action copies changed files into the container.
func (a Action) Syncs() bool {
	return a == ActionSync || a == ActionSyncRestart || a == ActionSyncExec
}

// Rebuilds reports whether the action rebuilds the service's image and
// recreates its containers.
func (a Action) Rebuilds() bool {
	return a == ActionRebuild
}

// Execs reports whether the action runs a command in the containers after
// syncing.
func (a Action) Execs() bool {
	return a == ActionSyncExec
}

// Restarts reports whether the action restarts the service right away.
// ActionHostBuild restarts too, but only after its build succeeds: it
// reports false here.
func (a Action) Restarts() bool {
	return a == ActionRestart || a == ActionSyncRestart
}

// Builds reports whether the action runs the service's host build.
func (a Action) Builds() bool {
	return a == ActionHostBuild
}

// RestartKind is the way devd restarts a service.
type RestartKind string

// Restart kinds accepted by `x-devd.restart`.
const (
	// RestartProcess makes devd's supervisor inside the container stop the
	// service's process and start it again, so the container stays up. It
	// needs a container started by `devd up`.
	RestartProcess   RestartKind = "process"
	RestartContainer RestartKind = "container"
	RestartSignal    RestartKind = "signal"
	RestartNone      RestartKind = "none"
)

// RestartMode is a service's restart mode. Signal is set only for
// RestartSignal and holds a name such as "SIGHUP".
type RestartMode struct {
	Kind   RestartKind
	Signal string
}

// String returns the mode as written in `x-devd.restart`.
func (m RestartMode) String() string {
	if m.Kind == RestartSignal {
		return "signal:" + m.Signal
	}
	return string(m.Kind)
}

// TriggerSource is the origin of a trigger.
type TriggerSource string

// Trigger sources.
const (
	// SourceBindMount is a zero-configuration trigger derived from a bind mount.
	SourceBindMount TriggerSource = "bind-mount"
	// SourceDevelopWatch is a trigger from the service's `develop.watch`.
	SourceDevelopWatch TriggerSource = "develop.watch"
	// SourceHostBuild is a trigger from `x-devd.build.watch`; its Action is
	// ActionHostBuild.
	SourceHostBuild TriggerSource = "x-devd.build"
)

// Trigger is one watched host folder of a service and what a change under it
// does. Paths are absolute and cleaned, with symlinks resolved.
type Trigger struct {
	// Source is whether the trigger was derived from a bind mount or read
	// from `develop.watch`.
	Source TriggerSource
	// Index is the trigger's position in `develop.watch`, or the bind mount's
	// position in `volumes`; it is used in messages.
	Index int
	// Action is what a change does.
	Action Action
	// Path is the watched host path: a folder, or a single file for a
	// `develop.watch` trigger whose path is a file.
	Path string
	// Target is the container path that Path maps to, with forward slashes.
	// It is empty when the trigger does not sync.
	Target string
	// BindMounted is true when Target (or the whole of Path) is already
	// visible in the container through a bind mount, so files are never
	// copied for this trigger.
	BindMounted bool
	// Ignore holds the trigger's own `ignore` patterns, relative to Path,
	// followed by those of `x-devd.ignore`.
	Ignore []string
	// XDevdIgnore contains the patterns of Ignore that come from
	// `x-devd.ignore`, so that messages can name their source.
	XDevdIgnore []string
	// Include holds the trigger's `include` patterns, relative to Path. When
	// non-empty, only matching paths count.
	Include []string
	// Hidden holds host folders under Path that another mount hides from the
	// container (a host node_modules under an anonymous volume). They are not
	// watched.
	Hidden []string
	// Mounted holds host paths under Path that a bind mount of the service
	// shows in the container at the place Target maps them to. They are
	// watched and count for restarts, but are never copied, because a copy
	// would write through the mount to the host file.
	Mounted []string
	// InitialSync is `develop.watch[].initial_sync`: bring the target up to
	// date with Path when devd starts and when a container starts.
	InitialSync bool
	// Exec is the command of a sync+exec trigger, nil for other actions.
	Exec *ExecHook
}

// ExecHook is the command a sync+exec trigger runs in every container of
// the service after a sync, with Compose's meaning of each field.
type ExecHook struct {
	// Command is the program and its arguments; a string in the Compose
	// file is split into words, not run through a shell.
	Command []string
	// User is the user to run as; empty means the container's.
	User string
	// WorkingDir is the folder to run in; empty means the container's.
	WorkingDir string
	// Env holds "KEY=value" entries added to the container's environment.
	Env []string
	// Privileged runs the command with extended privileges.
	Privileged bool
}

// Summary returns the command as messages show it, "`npm run build` as
// node in /app", naming the container's defaults for empty fields.
func (h *ExecHook) Summary() string {
	words := make([]string, len(h.Command))
	for i, word := range h.Command {
		words[i] = word
		if word == "" || strings.ContainsAny(word, " \t\n\"'`") {
			words[i] = strconv.Quote(word)
		}
	}
	user, dir := h.User, h.WorkingDir
	if user == "" {
		user = "the container's user"
	}
	if dir == "" {
		dir = "the container's working folder"
	}
	return "`" + strings.Join(words, " ") + "` as " + user + " in " + dir
}

// DebugPort is a debug port of a service that devd proxies to the host.
type DebugPort struct {
	// Port is the port inside the container.
	Port int
	// Runtime is "node", "go" or "" when unknown.
	Runtime string
	// Listen is the requested host address ("127.0.0.1:19229"), or empty to
	// let devd pick 127.0.0.1 and the first free port from Port upwards.
	Listen string
	// AllowRemote permits a Listen address that is not loopback.
	AllowRemote bool
	// Detected is true when the port was found in the service's command
	// rather than declared in `x-devd.debug`.
	Detected bool
	// LoopbackOnly is true when the detected debugger listens on 127.0.0.1
	// inside the container (`--inspect` with no host), which the host cannot
	// reach; devd warns and says how to fix the command.
	LoopbackOnly bool
	// Brk is `x-devd.debug[].brk`: under `devd up`, start the program
	// paused until a debugger attaches (Node.js `--inspect-brk`; Delve
	// without `--continue`).
	Brk bool
}

// Service holds what devd does for one Compose service.
type Service struct {
	// Name is the Compose service name.
	Name string
	// Watch is false when devd leaves the service alone (`x-devd.watch:
	// false`, or nothing to watch and no debug port). With `x-devd.watch:
	// false`, Triggers is empty but Debug still lists the service's ports.
	Watch bool
	// WatchOff is true when `x-devd.watch: false` turned watching off.
	WatchOff bool
	// Restart is the service's restart mode: `x-devd.restart`, or
	// RestartContainer when it is not set.
	Restart RestartMode
	// RestartSet is true when `x-devd.restart` was given. When it is false,
	// the daemon picks the mode from the container: RestartProcess when
	// devd's supervisor runs in it, Restart otherwise.
	RestartSet bool
	// StopSignal is the service's `stop_signal`, "SIGTERM" when unset.
	StopSignal string
	// StopGracePeriod is the service's `stop_grace_period`, 10 s when unset.
	StopGracePeriod time.Duration
	// Command is the service's entrypoint followed by its command, as the
	// Compose file gives them; empty when both come from the image.
	Command []string
	// Triggers are the service's watch triggers in declaration order.
	Triggers []Trigger
	// Debug holds the debug ports to proxy, sorted by Port.
	Debug []DebugPort
	// BuildContext is the absolute build context folder, empty when the
	// service has no `build:` section.
	BuildContext string
	// DockerignorePatterns are the patterns of the build context's
	// `.dockerignore` (or of `<Dockerfile>.dockerignore` when present), in
	// file order, applied to triggers whose Path lies in the build context.
	DockerignorePatterns []string
	// DockerignoreFile is the absolute path of the file that
	// DockerignorePatterns come from, empty when there is none.
	DockerignoreFile string
	// User is the `user` the service runs as, empty for the image default.
	User string
	// Ports lists the service's published ports, used to tell the user
	// when Docker already publishes a debug port.
	Ports []PublishedPort
	// Unsupported lists human-readable notes about triggers that were
	// skipped (a develop.watch action that devd does not know), reported at
	// start.
	Unsupported []string
	// Ready is `x-devd.ready`, how to tell that the service is up after a
	// start: "tcp:PORT", an "http://HOST:PORT/PATH" URL, or "log:REGEXP".
	// Empty means the service counts as ready once its process runs.
	Ready string
	// SyncUser is `x-devd.user`, "UID:GID": the owner of the files devd
	// writes into the container. Empty means the engine's default (root).
	SyncUser string
	// Build is the host build of `x-devd.build`, nil when the service has
	// none. A service with a build is watched: a change under Build.Watch
	// runs the build (triggers with ActionHostBuild), then Build.Output is
	// copied to Build.Target and the service restarts.
	Build *HostBuild
	// Poll is `x-devd.poll`: the interval at which the service's watched
	// folders are scanned instead of relying on file system events (for
	// network and virtual file systems where events do not arrive). Zero
	// means native events.
	Poll time.Duration
	// Gitignore is `x-devd.gitignore`: when true, paths that the
	// .gitignore files of the watched folders ignore do not count as
	// changes.
	Gitignore bool
	// DebugWait is `x-devd.debug_wait`. When true, a restart waits while a
	// debugger keeps the process paused at a breakpoint, instead of ending
	// the debugging session. The restart goes ahead once the process runs
	// again.
	DebugWait bool
	// Supervise is `x-devd.supervise`. Nil means the default: `devd up`
	// runs a watched service under devd's supervisor. False opts the
	// service out; true is the default made explicit.
	Supervise *bool
}

// HostBuild is a build command that devd runs on the host for a compiled
// service, and the artifact it copies into the container afterwards. Host
// paths are absolute and cleaned.
type HostBuild struct {
	// Command is the program and its arguments. A string in the Compose
	// file becomes ["sh", "-c", string]; a list is used as it is.
	Command []string
	// Dir is the folder the command runs in: `workdir`, the project folder
	// when unset.
	Dir string
	// Env holds the `env` entries as "KEY=value", sorted by key. They are
	// added to devd's own environment.
	Env []string
	// Watch holds the host paths whose changes run the build: `watch`, the
	// build's Dir when unset. Output is never watched.
	Watch []string
	// Output is the host path of the artifact the build produces.
	Output string
	// Target is the container path Output is copied to, with forward
	// slashes.
	Target string
}

// PublishedPort is one `ports:` entry of a service.
type PublishedPort struct {
	// Target is the port inside the container.
	Target int
	// HostIP is the host address the port is published on, empty for all.
	HostIP string
	// Published is the host port, or 0 when Docker picks one. For a range,
	// it is the first port of the range.
	Published int
}

// Project is a loaded Compose project with devd's rules.
type Project struct {
	// Name is the Compose project name.
	Name string
	// WorkingDir is the project directory.
	WorkingDir string
	// ConfigFiles are the absolute paths of the Compose files that were
	// loaded, in order, then the files they include.
	ConfigFiles []string
	// ComposeFiles are the absolute paths of the Compose files given to
	// Compose (by -f, COMPOSE_FILE or the default search), in order,
	// without the files they include: what to pass to `docker compose -f`.
	ComposeFiles []string
	// EnvFiles are the absolute paths of the env files that were read
	// (`.env` and `--env-file`) and exist.
	EnvFiles []string
	// Services holds every service of the project that is selected
	// (named on the command line, or all when none is named) and enabled by
	// its profiles, sorted by Name. Services with Watch false are included.
	Services []Service
}

// Options selects the Compose project, with the meaning of the `docker
// compose` flags of the same names. The zero value loads the project found
// from the current directory.
type Options struct {
	// Files are the `-f/--file` values; empty means COMPOSE_FILE or the
	// default file names searched in WorkingDir and its parents.
	Files []string
	// ProjectName is `-p/--project-name`; empty means COMPOSE_PROJECT_NAME
	// or the default name.
	ProjectName string
	// ProjectDirectory is `--project-directory`.
	ProjectDirectory string
	// Profiles are the `--profile` values. As in Compose, COMPOSE_PROFILES
	// is read only when none is given.
	Profiles []string
	// EnvFiles are the `--env-file` values.
	EnvFiles []string
	// WorkingDir is the directory to resolve relative paths and search
	// Compose files from; empty means the process's current directory.
	WorkingDir string
	// Services names the services to supervise; empty means all.
	Services []string
	// Environ is the OS environment to read, as "KEY=value" entries. Nil
	// means os.Environ(), and an empty slice an empty environment.
	Environ []string
}
