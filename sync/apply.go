package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/devdtool/devd/engine"
	"github.com/hashicorp/go-hclog"
)

// Copier is the part of the Docker engine that Apply needs. Implementations
// must allow concurrent calls for different containers. An implementation
// that is also a Stater lets Apply leave existing folders alone.
type Copier interface {
	// CopyToContainer extracts a tar stream into dstDir, reading content
	// until EOF or an error. An entry must replace a path of another type
	// (a file where a folder was, and the reverse).
	CopyToContainer(ctx context.Context, id, dstDir string, content io.Reader) error

	// Exec runs a command in a running container and returns its exit code.
	// A stopped container gives an error wrapping engine.ErrNotRunning.
	Exec(ctx context.Context, id string, cmd []string, opts engine.ExecOptions) (engine.ExecResult, error)
}

var _ Copier = (*engine.Client)(nil)

// Result counts what Apply or Reconcile did.
type Result struct {
	Copied  int      // tar entries (files, folders, links) the engine accepted
	Deleted int      // container paths removed, or already absent
	Bytes   int64    // file content copied
	Skipped []string // host paths left out: links leaving the tree, special files, unreadable folders
}

// Apply gets changes into one container: one tar stream for everything to
// copy, then delete commands for what is gone (see Collect for how each path
// is planned). It is safe to call concurrently for different containers;
// batches for the same container must not overlap.
//
// A path whose type changed (a file replaced by a folder, or the reverse) is
// replaced by the copy itself, so it needs no delete. A changed folder that
// the container already holds is compared with it and made equal, which
// removes what no event reported (see refineFolders). Copies work on stopped
// containers; deletes need a running one (see ErrNeedsRunning) with rm or
// devd's supervisor (see ErrNoRemover).
//
// A failure in one part does not stop the others: a tree whose target is
// not a folder in the container is left out, a failed archive is sent again
// tree by tree, and deletes run whatever the copies did. The errors are
// joined, and Result counts only what succeeded.
func Apply(ctx context.Context, c Copier, containerID string, changes []Change, owner Owner, log hclog.Logger) (Result, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	plan, err := Collect(changes, log)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	plan, refineErrs := refineFolders(ctx, c, containerID, plan, owner, log)
	errs = append(errs, refineErrs...)
	res := Result{Skipped: plan.Skipped}

	entries, bad := keepNeeded(ctx, c, containerID, plan.Entries)
	for _, err := range bad {
		errs = append(errs, err)
	}
	deletes := plan.Deletes
	if len(bad) > 0 {
		deletes = nil
		for _, d := range plan.Deletes {
			if _, ok := bad[path.Clean(d.Tree.ContainerRoot)]; !ok {
				deletes = append(deletes, d)
			}
		}
	}

	if len(entries) > 0 {
		stats, err := copyBatch(ctx, c, containerID, entries, owner)
		res.Copied, res.Bytes = stats.entries, stats.bytes
		errs = append(errs, stats.errs...)
		if err != nil {
			errs = append(errs, err)
		}
	}

	deletes = dropIgnoredDeletes(ctx, c, containerID, deletes)
	deletes, absent := dropAbsentDeletes(ctx, c, containerID, deletes)
	res.Deleted = absent
	if len(deletes) > 0 {
		n, err := removePaths(ctx, c, containerID, deletes)
		res.Deleted += n
		if err != nil {
			errs = append(errs, err)
		}
	}

	log.Debug("applied changes", "container_id", engine.ShortID(containerID), "change_count", len(changes),
		"copied", res.Copied, "deleted", res.Deleted, "bytes", res.Bytes, "skipped", len(res.Skipped))
	return res, errors.Join(errs...)
}

// dropIgnoredDeletes leaves out the deletes whose container path has the
// type that Skip ignores there, asking the container when c is a Stater.
// Without one, such paths are left alone.
func dropIgnoredDeletes(ctx context.Context, c Copier, id string, deletes []Delete) []Delete {
	st, canStat := c.(Stater)
	var out []Delete
	for _, d := range deletes {
		if d.ignoredIf == ignoredNever {
			out = append(out, d)
			continue
		}
		if !canStat {
			continue
		}
		s, err := st.StatPath(ctx, id, d.Path)
		if errors.Is(err, engine.ErrNotFound) {
			continue
		}
		// The engine follows a link when it stats it and fails on a link
		// loop (seen with Docker 20.10). Such a path is taken for a link,
		// which is not a folder, unless the context has ended.
		isDir := err == nil && s.Mode.IsDir()
		if err != nil && (d.ignoredIf == ignoredIfFile || ctx.Err() != nil) {
			continue
		}
		if isDir != (d.ignoredIf == ignoredIfDir) {
			out = append(out, d)
		}
	}
	return out
}

// maxDeleteProbes bounds the deletes that dropAbsentDeletes stats. A larger
// batch runs its delete command without them.
const maxDeleteProbes = 16

// dropAbsentDeletes leaves out the deletes whose path the container does
// not have, and returns how many it left out. An editor's temporary file,
// created and renamed away between two batches, is such a path: a stat
// through the engine costs less than the exec of rm. A path below a link
// (the container replaced one of its folders with a link) is not in the
// tree either, and rm would follow the link, so it is left out too. Without
// a Stater, or with a Remover, whose deletes are cheap and never follow
// links, nothing is left out.
//
// NOTE: a batch of more than maxDeleteProbes deletes skips these stats, so
// its rm may follow a link that the container placed in a synced folder.
func dropAbsentDeletes(ctx context.Context, c Copier, id string, deletes []Delete) ([]Delete, int) {
	st, canStat := c.(Stater)
	_, canRemove := c.(Remover)
	if !canStat || canRemove || len(deletes) == 0 || len(deletes) > maxDeleteProbes {
		return deletes, 0
	}

	// The deletes themselves, then the distinct folders between each
	// tree's root and its deletes.
	entries := make([]Entry, 0, len(deletes))
	for _, d := range deletes {
		entries = append(entries, Entry{Tree: d.Tree, ContainerPath: d.Path})
	}
	folderAt := map[string]int{}
	for _, d := range deletes {
		root := path.Clean(d.Tree.ContainerRoot)
		for dir := path.Dir(d.Path); dir != root && within(root, dir); dir = path.Dir(dir) {
			if _, ok := folderAt[dir]; !ok {
				folderAt[dir] = len(entries)
				entries = append(entries, Entry{Tree: d.Tree, ContainerPath: dir})
			}
		}
	}
	results := probe(ctx, st, id, entries)

	var kept []Delete
	for i, d := range deletes {
		if errors.Is(results[i].err, engine.ErrNotFound) {
			continue
		}
		underLink := false
		root := path.Clean(d.Tree.ContainerRoot)
		for dir := path.Dir(d.Path); dir != root && within(root, dir); dir = path.Dir(dir) {
			if r := results[folderAt[dir]]; r.err == nil && r.stat.Mode&fs.ModeSymlink != 0 {
				underLink = true
				break
			}
		}
		// Any other error (a parent that is a file, an engine failure)
		// leaves the delete to rm, which handles it.
		if !underLink {
			kept = append(kept, d)
		}
	}
	return kept, len(deletes) - len(kept)
}

// copyBatch sends the entries as one archive. When the engine rejects it
// and the entries span several trees, each tree is sent on its own, so that
// one tree's target (a read-only mount, say) does not hold back the others.
// The stats count what the engine accepted.
func copyBatch(ctx context.Context, c Copier, id string, entries []Entry, owner Owner) (tarStats, error) {
	stats, err := copyEntries(ctx, c, id, entries, owner)
	if err == nil {
		return stats, nil
	}
	groups := groupEntries(entries)
	if len(groups) < 2 || ctx.Err() != nil {
		return tarStats{errs: stats.errs}, err
	}

	var total tarStats
	var errs []error
	for _, group := range groups {
		s, err := copyEntries(ctx, c, id, group, owner)
		total.errs = append(total.errs, s.errs...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		total.entries += s.entries
		total.bytes += s.bytes
	}
	return total, errors.Join(errs...)
}

// groupEntries splits entries by tree root, keeping their order.
func groupEntries(entries []Entry) [][]Entry {
	var groups [][]Entry
	index := map[string]int{}
	for _, e := range entries {
		root := path.Clean(e.Tree.ContainerRoot)
		i, ok := index[root]
		if !ok {
			i = len(groups)
			index[root] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], e)
	}
	return groups
}

// errCopyEnded stops the tar writer when the engine stopped reading early.
var errCopyEnded = errors.New("copy to container ended")

// copyEntries streams the tar through a pipe, so no file is held in memory.
func copyEntries(ctx context.Context, c Copier, id string, entries []Entry, owner Owner) (tarStats, error) {
	return copyEntriesProgress(ctx, c, id, entries, owner, nil)
}

// copyEntriesProgress is copyEntries that reports as writeTarProgress does.
func copyEntriesProgress(ctx context.Context, c Copier, id string, entries []Entry, owner Owner, progress func(handled int, bytes int64)) (tarStats, error) {
	pr, pw := io.Pipe()
	type written struct {
		stats tarStats
		err   error
	}
	done := make(chan written, 1)
	go func() {
		stats, err := writeTarProgress(pw, entries, owner, progress)
		pw.CloseWithError(err)
		done <- written{stats, err}
	}()

	copyErr := c.CopyToContainer(ctx, id, "/", pr)
	pr.CloseWithError(errCopyEnded)
	w := <-done

	if copyErr != nil {
		// The engine's error names the container.
		return w.stats, fmt.Errorf("copying %d entries: %w", len(entries), noSpace(entries, copyErr))
	}
	if w.err != nil {
		return w.stats, fmt.Errorf("copying %d entries to container %s: %w", len(entries), engine.ShortID(id), w.err)
	}
	return w.stats, nil
}
