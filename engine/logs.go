package engine

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// maxLogLine caps one line of container output; longer lines are split.
const maxLogLine = 64 << 10

// FollowLogs streams the container's output from since until the
// container stops or ctx ends, calling line for each line without its line
// break. stream is "stdout" or "stderr"; a container with a TTY has only
// "stdout". line is called from one goroutine at a time.
func (c *Client) FollowLogs(ctx context.Context, id string, since time.Time, line func(stream string, text []byte)) error {
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return c.wrap(ctx, "inspecting", id, err)
	}

	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true}
	if !since.IsZero() {
		opts.Since = strconv.FormatFloat(float64(since.UnixNano())/1e9, 'f', 9, 64)
	}
	rc, err := c.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		return c.wrap(ctx, "following the output of", id, err)
	}
	defer rc.Close()

	if info.Config != nil && info.Config.Tty {
		scanLines(rc, "stdout", line)
		return nil
	}

	var mu sync.Mutex
	serial := func(stream string, text []byte) {
		mu.Lock()
		defer mu.Unlock()
		line(stream, text)
	}
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan struct{}, 2)
	go func() { scanLines(outR, "stdout", serial); done <- struct{}{} }()
	go func() { scanLines(errR, "stderr", serial); done <- struct{}{} }()

	_, err = stdcopy.StdCopy(outW, errW, rc)
	outW.Close()
	errW.Close()
	<-done
	<-done
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func scanLines(r io.Reader, stream string, line func(string, []byte)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLogLine)
	for sc.Scan() {
		line(stream, sc.Bytes())
	}
	// Drain whatever a too-long line left, so the writer never blocks.
	_, _ = io.Copy(io.Discard, r)
}
