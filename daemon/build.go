package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
)

// maxBuildOutput caps the build output devd keeps to show a failure.
const maxBuildOutput = 64 << 10

// build runs the service's host build for the work. On success it adds the
// artifact to the work's changes and asks for a restart. A failed build
// leaves the running process alone; its output is shown once and the work
// is dropped, because only a new change can fix the code.
func (w *worker) build(ctx context.Context, work *plan.Work) error {
	b := w.svc.Build
	if b == nil || len(b.Command) == 0 {
		return nil
	}

	w.log.Info("building", "command", strings.Join(b.Command, " "), "dir", b.Dir, "reason", reasonText(*work))
	w.publish(event.Event{Type: event.BuildStarted, Reason: reasonText(*work), Paths: work.Reasons})
	start := time.Now()

	cmd := exec.CommandContext(ctx, b.Command[0], b.Command[1:]...)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), b.Env...)
	out := &cappedBuffer{limit: maxBuildOutput}
	cmd.Stdout = out
	cmd.Stderr = out
	err := cmd.Run()
	elapsed := time.Since(start)

	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		text := strings.TrimSpace(out.String())
		w.log.Error("build failed; the running process keeps the previous code", "error", err, "duration", elapsed.Round(time.Millisecond))
		if text != "" {
			w.log.Error("build output", "output", text)
		}
		w.publish(event.Event{Type: event.BuildFailed, Error: fmt.Sprintf("%v\n%s", err, text), DurationMS: elapsed.Milliseconds()})
		return &permanentError{err: fmt.Errorf("host build failed: %w", err)}
	}

	if _, err := os.Stat(b.Output); err != nil {
		w.publish(event.Event{Type: event.BuildFailed, Error: err.Error(), DurationMS: elapsed.Milliseconds()})
		return &permanentError{err: fmt.Errorf("the build succeeded but its output %s is missing: check x-devd.build.output: %w", b.Output, err)}
	}
	w.log.Info("built", "duration", elapsed.Round(time.Millisecond), "output", b.Output)
	w.publish(event.Event{Type: event.BuildDone, DurationMS: elapsed.Milliseconds()})

	tree := &filesync.Tree{HostRoot: b.Output, ContainerRoot: b.Target}
	work.Changes = append(work.Changes, filesync.Change{Tree: tree, HostPath: b.Output})
	work.Restart = true
	work.Build = false
	return nil
}

// cappedBuffer keeps the first limit bytes written to it and counts the
// rest.
type cappedBuffer struct {
	buf     bytes.Buffer
	limit   int
	dropped int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	room := c.limit - c.buf.Len()
	switch {
	case room <= 0:
		c.dropped += len(p)
	case len(p) > room:
		c.buf.Write(p[:room])
		c.dropped += len(p) - room
	default:
		c.buf.Write(p)
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	if c.dropped > 0 {
		return fmt.Sprintf("%s\n[%d more bytes of output not shown]", c.buf.String(), c.dropped)
	}
	return c.buf.String()
}
