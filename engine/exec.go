package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// maxExecOutput caps the output Exec keeps. The rest is read and dropped, so
// a chatty command cannot grow devd's memory.
const maxExecOutput = 64 << 10

// execPollInterval spaces the inspections that wait for an exit code.
const execPollInterval = 10 * time.Millisecond

// ExecOptions configures a command run in a container. The zero value runs
// it as the container's user, in its working directory.
type ExecOptions struct {
	User       string   // "uid", "uid:gid" or a name; empty means Config.User
	WorkingDir string   // empty means the container's working directory
	Env        []string // KEY=value, added to the container's environment
	Privileged bool
}

// ExecResult is the outcome of a command that ran.
type ExecResult struct {
	ExitCode int

	// Output holds stdout and stderr interleaved, at most the first 64 KiB.
	Output []byte
}

// Exec runs cmd in the running container and waits for it to exit. A command
// that ran and failed is not an error: check ExitCode. The engine reports a
// command it cannot find as exit code 126 or 127 with its message in Output.
// A stopped or paused container gives an error wrapping ErrNotRunning.
// Cancelling ctx stops waiting; the command itself may keep running.
func (c *Client) Exec(ctx context.Context, id string, cmd []string, opts ExecOptions) (ExecResult, error) {
	created, err := c.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		User:         opts.User,
		WorkingDir:   opts.WorkingDir,
		Env:          opts.Env,
		Privileged:   opts.Privileged,
		Cmd:          cmd,
		AttachStdout: true,
		AttachStderr: true,
	})
	if cerrdefs.IsConflict(err) {
		// The engine returns 409 Conflict for a stopped or paused container.
		err = fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	if err != nil {
		return ExecResult{}, c.wrap(ctx, fmt.Sprintf("creating exec %q in", cmd), id, err)
	}

	// Attaching starts the exec, so starting it again would fail.
	attached, err := c.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, c.wrap(ctx, fmt.Sprintf("starting exec %q in", cmd), id, err)
	}
	defer attached.Close()
	stop := context.AfterFunc(ctx, attached.Close)
	defer stop()

	// Without a TTY the engine multiplexes stdout and stderr in frames.
	out := &cappedBuffer{limit: maxExecOutput}
	if _, err := stdcopy.StdCopy(out, out, attached.Reader); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return ExecResult{}, c.wrap(ctx, fmt.Sprintf("reading output of exec %q in", cmd), id, err)
	}

	code, err := c.execExitCode(ctx, created.ID)
	if err != nil {
		return ExecResult{}, c.wrap(ctx, fmt.Sprintf("inspecting exec %q in", cmd), id, err)
	}
	return ExecResult{ExitCode: code, Output: out.buf.Bytes()}, nil
}

// execExitCode waits for the engine to record the exit code. The output
// stream can end a moment before the engine has processed the exit, and
// until then the exec reads as running with exit code 0.
func (c *Client) execExitCode(ctx context.Context, execID string) (int, error) {
	ticker := time.NewTicker(execPollInterval)
	defer ticker.Stop()
	for {
		inspected, err := c.api.ContainerExecInspect(ctx, execID)
		if err != nil {
			return 0, err
		}
		if !inspected.Running {
			return inspected.ExitCode, nil
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// cappedBuffer keeps the first limit bytes written and drops the rest while
// reporting every write as complete, so the stream is still drained.
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

var _ io.Writer = (*cappedBuffer)(nil)
