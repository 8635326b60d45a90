package daemon

import (
	"context"
	"io"
	"time"

	"github.com/devdtool/devd/engine"
	filesync "github.com/devdtool/devd/sync"
)

// Engine is the part of the Docker engine that the daemon uses. It is
// implemented by *engine.Client; tests may use a fake. Implementations must
// be safe for concurrent use.
type Engine interface {
	filesync.Copier

	Ping(ctx context.Context) error
	ProjectContainers(ctx context.Context, project string) ([]engine.Container, error)
	InspectContainer(ctx context.Context, id string) (engine.Container, error)
	Events(ctx context.Context, project string, since time.Time) (<-chan engine.Event, <-chan error)
	RestartContainer(ctx context.Context, id string, timeout time.Duration) error
	SignalContainer(ctx context.Context, id, signal string) error
	CopyFromContainer(ctx context.Context, id, srcPath string) (io.ReadCloser, error)
	FollowLogs(ctx context.Context, id string, since time.Time, line func(stream string, text []byte)) error
	HostCanReachContainerIPs() bool
}

var _ Engine = (*engine.Client)(nil)
