package supervisor

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Fixed paths and names shared by the supervisor in the container and devd
// on the host.
const (
	// BinaryPath is where the static devd binary is bind-mounted in a
	// supervised container.
	BinaryPath = "/.devd/devd-supervisor"

	// ControlDir is the default folder, bind-mounted from the host, where
	// the supervisor creates its control socket.
	ControlDir = "/.devd/run"

	// AbstractSocket is the abstract Unix socket the supervisor also
	// listens on, for clients in the container's network namespace.
	AbstractSocket = "@devd-supervisor"
)

// Defaults for the zero values of Config.
const (
	DefaultStopSignal   = "SIGTERM"
	DefaultGrace        = 10 * time.Second
	DefaultReadyTimeout = 30 * time.Second
)

var (
	// ErrUnsupported is returned by Run on systems other than Linux.
	ErrUnsupported = errors.New("the supervisor runs only in Linux containers")

	// ErrInvalidConfig wraps every error about a Config that Run rejects
	// before starting anything.
	ErrInvalidConfig = errors.New("invalid supervisor configuration")
)

// Config describes one supervised command. Zero values take the defaults
// noted on each field.
type Config struct {
	// Service names the service in messages; empty means the command's name.
	Service string

	// Argv is the command and its arguments; it must not be empty. A name
	// without a slash is looked up in PATH.
	Argv []string

	// StopSignal is the signal that requests a graceful stop of the command
	// before a restart ("SIGTERM", "TERM" or "15"); empty means SIGTERM.
	StopSignal string

	// Grace is how long a stop waits after StopSignal before it kills the
	// process group; zero or less means DefaultGrace.
	Grace time.Duration

	// Ports must have no listening TCP socket (IPv4 or IPv6) before a new
	// start, so the new process does not fail with "address already in use".
	Ports []int

	// ControlDir is the folder for the control socket; empty means the
	// package's ControlDir.
	ControlDir string

	// AbstractSocket is the name of the abstract control socket, starting
	// with '@'; empty means the package's AbstractSocket, "-" disables it.
	AbstractSocket string

	// Ready is the readiness check after a restart: "tcp:PORT",
	// "http://127.0.0.1:PORT/path" or "log:REGEXP"; empty means none.
	Ready string

	// SyncRoots are the container folders (or files) that devd syncs. When
	// the supervisor runs as root, it serves the file API for them, so that
	// devd copies and deletes files through the control socket.
	SyncRoots []string

	// Logger receives the supervisor's own messages; nil discards them.
	Logger hclog.Logger
}

// withDefaults returns c with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.StopSignal == "" {
		c.StopSignal = DefaultStopSignal
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.ControlDir == "" {
		c.ControlDir = ControlDir
	}
	if c.AbstractSocket == "" {
		c.AbstractSocket = AbstractSocket
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	return c
}

// checkPorts reports a port number outside 1-65535.
func checkPorts(ports []int) error {
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return fmt.Errorf("%w: port %d is not between 1 and 65535", ErrInvalidConfig, p)
		}
	}
	return nil
}
