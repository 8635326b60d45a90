//go:build linux

package supervisor

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// reaper collects every child of the process, including orphans the kernel
// re-parents to it as PID 1 or as a child subreaper, so none stays a zombie.
// It is the only code in the process that waits for children. It waits for
// any child (wait4(-1)) and passes the status of each watched child to that
// child's callback, so it never steals the main command's status.
// Nothing else in the process may call wait, os/exec's Wait included.
//
// spawn and changed may be called from any goroutine. The goroutine that
// called start calls stop once.
type reaper struct {
	sigchld chan os.Signal
	quit    chan struct{}
	done    chan struct{}

	mu sync.Mutex
	// watched maps a pid to the callback for its exit. Guarded by mu.
	watched map[int]func(syscall.WaitStatus)
	// reaped is closed, and replaced, each time processes were reaped.
	// Guarded by mu.
	reaped chan struct{}
}

func newReaper() *reaper {
	return &reaper{
		sigchld: make(chan os.Signal, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		watched: map[int]func(syscall.WaitStatus){},
		reaped:  make(chan struct{}),
	}
}

// start subscribes to SIGCHLD and starts reaping, including children that
// exited before.
func (r *reaper) start() {
	signal.Notify(r.sigchld, syscall.SIGCHLD)
	go func() {
		defer close(r.done)
		r.reapAll()
		for {
			select {
			case <-r.sigchld:
				r.reapAll()
			case <-r.quit:
				return
			}
		}
	}()
}

// stop ends reaping and waits for the reaping goroutine.
func (r *reaper) stop() {
	signal.Stop(r.sigchld)
	close(r.quit)
	<-r.done
}

// spawn runs fork, which starts a process and returns its pid, and calls
// exited from the reaping goroutine with the process's status once it has
// been reaped. Holding the lock while forking makes sure a process that
// exits at once is not reaped before its callback is known.
func (r *reaper) spawn(fork func() (int, error), exited func(syscall.WaitStatus)) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := fork()
	if err != nil {
		return 0, err
	}
	r.watched[pid] = exited
	return pid, nil
}

// changed returns a channel that is closed the next time a process is
// reaped. Take it before checking a condition that a reap may change.
func (r *reaper) changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reaped
}

// reapAll waits for every child that has exited, without blocking. Signals
// coalesce, so one SIGCHLD may stand for several exits.
func (r *reaper) reapAll() {
	reapedSome := false
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			break // ECHILD: no children; 0: none has exited
		}
		reapedSome = true

		r.mu.Lock()
		exited := r.watched[pid]
		delete(r.watched, pid)
		r.mu.Unlock()
		if exited != nil {
			exited(ws)
		}
	}
	if reapedSome {
		r.mu.Lock()
		close(r.reaped)
		r.reaped = make(chan struct{})
		r.mu.Unlock()
	}
}
