package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/devdtool/devd/engine"
	"github.com/hashicorp/go-hclog"
)

// Copier is the part of the Docker engine that Apply needs. Implementations
// must allow concurrent calls for different containers.
type Copier interface {
	// CopyToContainer extracts a tar stream into dstDir, reading content
	// until EOF or an error.
	CopyToContainer(ctx context.Context, id, dstDir string, content io.Reader) error

	// Exec runs a command in a running container and returns its exit code.
	Exec(ctx context.Context, id string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error)
}

var _ Copier = (*engine.Client)(nil)

// maxDeleteArgs bounds the bytes of paths given to one rm command, well
// under the kernel's argument limit. A larger batch runs several commands.
const maxDeleteArgs = 64 << 10

// deleteUser runs deletes as root, because files copied before the
// container's user changed, or baked into the image, may belong to anyone.
const deleteUser = "0"

// Result counts what Apply did.
type Result struct {
	Copied  int      // tar entries (files, folders, links) the engine accepted
	Deleted int      // container paths removed, or already absent
	Bytes   int64    // file content copied
	Skipped []string // host paths left out: links leaving the tree, special files
}

// Apply gets changes into one container: one tar stream for everything to
// copy, then one rm command for what is gone (see Collect for how each path
// is planned). It is safe to call concurrently for different containers;
// batches for the same container must not overlap.
//
// Copies work on stopped containers; deletes need a running one with an rm
// command. A failure in one part does not stop the other: the errors are
// joined, and Result counts only what succeeded.
//
// NOTE: a path whose type changed (a file replaced by a folder, or the
// reverse) is copied without deleting the old one first. The engine then
// rejects the whole archive until the container is recreated or the path is
// removed on the host and synced.
func Apply(ctx context.Context, c Copier, containerID string, changes []Change, owner Owner, log hclog.Logger) (Result, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	entries, deletes, skipped, err := Collect(changes, log)
	res := Result{Skipped: skipped}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}

	if len(entries) > 0 {
		stats, err := copyEntries(ctx, c, containerID, entries, owner)
		if err != nil {
			errs = append(errs, err)
		} else {
			res.Copied, res.Bytes = stats.entries, stats.bytes
		}
		errs = append(errs, stats.errs...)
	}

	if len(deletes) > 0 {
		n, err := deletePaths(ctx, c, containerID, deletes)
		res.Deleted = n
		if err != nil {
			errs = append(errs, err)
		}
	}

	log.Debug("applied changes", "container_id", engine.ShortID(containerID), "change_count", len(changes),
		"copied", res.Copied, "deleted", res.Deleted, "bytes", res.Bytes, "skipped", len(res.Skipped))
	return res, errors.Join(errs...)
}

// errCopyEnded stops the tar writer when the engine stopped reading early.
var errCopyEnded = errors.New("copy to container ended")

// copyEntries streams the tar through a pipe, so no file is held in memory.
func copyEntries(ctx context.Context, c Copier, id string, entries []Entry, owner Owner) (tarStats, error) {
	pr, pw := io.Pipe()
	type written struct {
		stats tarStats
		err   error
	}
	done := make(chan written, 1)
	go func() {
		stats, err := writeTar(pw, entries, owner)
		pw.CloseWithError(err)
		done <- written{stats, err}
	}()

	copyErr := c.CopyToContainer(ctx, id, "/", pr)
	pr.CloseWithError(errCopyEnded)
	w := <-done

	if copyErr != nil {
		// The engine's error names the container.
		return w.stats, fmt.Errorf("copying %d entries: %w", len(entries), copyErr)
	}
	if w.err != nil {
		return w.stats, fmt.Errorf("copying %d entries to container %s: %w", len(entries), engine.ShortID(id), w.err)
	}
	return w.stats, nil
}

// deletePaths removes container paths with `rm -rf`, which also counts a
// path that is already gone as done. It returns how many were removed.
func deletePaths(ctx context.Context, c Copier, id string, paths []string) (int, error) {
	deleted := 0
	for _, chunk := range chunkPaths(paths, maxDeleteArgs) {
		cmd := append([]string{"rm", "-rf", "--"}, chunk...)
		res, err := c.Exec(ctx, id, cmd, engine.ExecOptions{User: deleteUser})
		if errors.Is(err, engine.ErrNotRunning) {
			return deleted, fmt.Errorf("deleting %d paths: deletes need a running container, start it and sync again: %w", len(paths)-deleted, err)
		}
		if err != nil {
			return deleted, fmt.Errorf("deleting %d paths: %w", len(paths)-deleted, err)
		}
		if res.ExitCode != 0 {
			return deleted, fmt.Errorf("deleting %d paths in container %s: %s", len(paths)-deleted, engine.ShortID(id), rmFailure(res))
		}
		deleted += len(chunk)
	}
	return deleted, nil
}

// rmFailure explains a failed rm, with the fix when rm is missing.
func rmFailure(res engine.ExecResult) string {
	out := strings.TrimSpace(string(res.Output))
	if res.ExitCode == 126 || res.ExitCode == 127 {
		return fmt.Sprintf("the container has no rm command (exit %d: %s); deleted files stay in the container until it is recreated, or add rm (busybox) to the image", res.ExitCode, out)
	}
	return fmt.Sprintf("rm exited with %d: %s", res.ExitCode, out)
}

// chunkPaths splits paths so that each chunk's total length stays under
// limit. A single longer path gets a chunk of its own.
func chunkPaths(paths []string, limit int) [][]string {
	var chunks [][]string
	var cur []string
	size := 0
	for _, p := range paths {
		if len(cur) > 0 && size+len(p)+1 > limit {
			chunks = append(chunks, cur)
			cur, size = nil, 0
		}
		cur = append(cur, p)
		size += len(p) + 1
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}
