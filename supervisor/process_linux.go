//go:build linux

package supervisor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Exit codes for a command that could not be started, as shells use them.
const (
	exitCannotExecute = 126
	exitNotFound      = 127
)

// child is one started instance of the command, the leader of its own
// process group (its pgid is its pid).
//
// The reaper writes status and then closes done: read status only after
// done is closed. The other fields do not change after startChild returns.
type child struct {
	pid     int
	started time.Time
	done    chan struct{}
	status  syscall.WaitStatus

	// matcher watches the output for the readiness pattern; nil when the
	// output goes straight to the supervisor's stdout and stderr.
	matcher *lineMatcher
	// outputs are the read ends of the output pipes, when matcher is set.
	outputs []*os.File
	// copiers counts the goroutines copying outputs; they end when every
	// process holding the write ends has exited, or when outputs are closed.
	copiers sync.WaitGroup
}

// startError is a failure to start the command, with the exit code a shell
// would give for it.
type startError struct {
	code int
	err  error
}

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// startChild starts argv in a new process group, with the supervisor's
// stdin, stdout, stderr and environment. With a pattern, stdout and stderr
// go through pipes that the supervisor copies to its own, matching each line.
func startChild(r *reaper, argv []string, pattern *regexp.Regexp) (*child, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err // it repeats the name otherwise
		}
		code := exitNotFound
		if errors.Is(err, fs.ErrPermission) {
			code = exitCannotExecute
		}
		return nil, &startError{code: code, err: fmt.Errorf("starting %s: %w", argv[0], err)}
	}

	c := &child{done: make(chan struct{})}
	files := []uintptr{0, 1, 2}
	var writeEnds []*os.File
	if pattern != nil {
		c.matcher = newLineMatcher(pattern)
		for i := 1; i <= 2; i++ {
			pr, pw, err := os.Pipe()
			if err != nil {
				closeAll(c.outputs)
				closeAll(writeEnds)
				return nil, &startError{code: exitCannotExecute, err: fmt.Errorf("creating output pipe: %w", err)}
			}
			c.outputs = append(c.outputs, pr)
			writeEnds = append(writeEnds, pw)
			files[i] = pw.Fd()
		}
	}

	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	c.started = time.Now()
	c.pid, err = r.spawn(
		func() (int, error) { return syscall.ForkExec(path, argv, attr) },
		func(ws syscall.WaitStatus) { c.status = ws; close(c.done) },
	)
	// The command holds its own copies of the write ends now.
	closeAll(writeEnds)
	if err != nil {
		closeAll(c.outputs)
		code := exitCannotExecute
		if errors.Is(err, syscall.ENOENT) {
			code = exitNotFound
		}
		return nil, &startError{code: code, err: fmt.Errorf("starting %s: %w", path, err)}
	}

	for i, out := range c.outputs {
		dst := []io.Writer{os.Stdout, os.Stderr}[i]
		c.copiers.Add(1)
		go func() {
			defer c.copiers.Done()
			_, _ = io.Copy(c.matcher.writer(dst), out)
		}()
	}
	return c, nil
}

// drainOutput waits up to limit for the output copiers to reach the end of
// the command's output, then closes the pipes, which also ends copiers held
// up by a process that left the group with the pipe open.
func (c *child) drainOutput(limit time.Duration) {
	if len(c.outputs) == 0 {
		return
	}
	copied := make(chan struct{})
	go func() {
		c.copiers.Wait()
		close(copied)
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-copied:
	case <-timer.C:
	}
	closeAll(c.outputs)
	<-copied
}

// groupGone reports whether no process is left in the process group pgid.
// Zombies count until they are reaped.
func groupGone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}
