package daemon

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/devdtool/devd/engine"
)

// fakeEngine is an in-memory Engine for unit tests. Restarts can be held
// open with holdRestarts to simulate a slow stop.
type fakeEngine struct {
	mu         sync.Mutex
	containers []engine.Container // guarded by mu
	restarts   []string           // guarded by mu; container ids restarted
	copies     int                // guarded by mu
	copyErr    error              // guarded by mu; non-nil: copies fail with it
	copied     []string           // guarded by mu; entry names of the last archive accepted
	subscribes int                // guarded by mu
	failNext   int                // guarded by mu; Events streams that fail at once
	follows    []time.Time        // guarded by mu; since of each FollowLogs call
	hold       chan struct{}      // guarded by mu; non-nil: restarts wait for it
	restarting chan struct{}      // receives one value as each restart begins
	events     chan engine.Event
}

var _ Engine = (*fakeEngine)(nil)

func newFakeEngine(containers ...engine.Container) *fakeEngine {
	return &fakeEngine{
		containers: containers,
		restarting: make(chan struct{}, 100),
		events:     make(chan engine.Event, 100),
	}
}

func (f *fakeEngine) holdRestarts() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = make(chan struct{})
	return f.hold
}

func (f *fakeEngine) restartCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.restarts)
}

func (f *fakeEngine) subscribeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subscribes
}

func (f *fakeEngine) setContainers(cs ...engine.Container) {
	f.mu.Lock()
	f.containers = cs
	f.mu.Unlock()
}

func (f *fakeEngine) Ping(ctx context.Context) error { return nil }

func (f *fakeEngine) ProjectContainers(ctx context.Context, project string) ([]engine.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Container(nil), f.containers...), nil
}

func (f *fakeEngine) InspectContainer(ctx context.Context, id string) (engine.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.ID == id {
			return c, nil
		}
	}
	return engine.Container{}, engine.ErrNotFound
}

func (f *fakeEngine) Events(ctx context.Context, project string, since time.Time) (<-chan engine.Event, <-chan error) {
	f.mu.Lock()
	f.subscribes++
	fail := f.failNext > 0
	if fail {
		f.failNext--
	}
	f.mu.Unlock()

	errs := make(chan error, 1)
	if fail {
		errs <- errors.New("connection refused")
		return make(chan engine.Event), errs
	}
	return f.events, errs
}

func (f *fakeEngine) RestartContainer(ctx context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	f.restarts = append(f.restarts, id)
	hold := f.hold
	f.mu.Unlock()

	f.restarting <- struct{}{}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (f *fakeEngine) SignalContainer(ctx context.Context, id, signal string) error {
	return f.RestartContainer(ctx, id, 0)
}

func (f *fakeEngine) CopyToContainer(ctx context.Context, id, dstDir string, content io.Reader) error {
	var names []string
	tr := tar.NewReader(content)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		names = append(names, hdr.Name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.copies++
	if f.copyErr != nil {
		return f.copyErr
	}
	f.copied = names
	return nil
}

// failCopies makes every later copy fail with err, or succeed when err is
// nil.
func (f *fakeEngine) failCopies(err error) {
	f.mu.Lock()
	f.copyErr = err
	f.mu.Unlock()
}

// copyCount returns how many archives were sent, failed ones included.
func (f *fakeEngine) copyCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.copies
}

// lastCopied returns the entry names of the last archive accepted.
func (f *fakeEngine) lastCopied() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.copied...)
}

func (f *fakeEngine) CopyFromContainer(ctx context.Context, id, srcPath string) (io.ReadCloser, error) {
	return nil, errors.New("not supported by the fake engine")
}

func (f *fakeEngine) Exec(ctx context.Context, id string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error) {
	return engine.ExecResult{}, nil
}

func (f *fakeEngine) HostCanReachContainerIPs() bool { return true }

func (f *fakeEngine) FollowLogs(ctx context.Context, id string, since time.Time, line func(stream string, text []byte)) error {
	f.mu.Lock()
	f.follows = append(f.follows, since)
	f.mu.Unlock()
	<-ctx.Done()
	return nil
}

// followedSince returns the since times of every FollowLogs call so far.
func (f *fakeEngine) followedSince() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.follows...)
}
