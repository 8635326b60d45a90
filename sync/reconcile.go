package sync

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/devdtool/devd/engine"
	"github.com/hashicorp/go-hclog"
)

// Reconciler is the part of the Docker engine that Reconcile needs: copies
// and execs as for Apply, and reading the container's files.
// Implementations must allow concurrent calls for different containers.
type Reconciler interface {
	Copier
	Reader
}

var _ Reconciler = (*engine.Client)(nil)

// Reconcile makes the container's copy of a tree equal to the host's, for
// when changes may have been missed: at start, after devd was down, after
// the container was recreated or was stopped while files changed. It reads
// the container's tree through the archive API (no tool needed in the
// image, and stopped containers work), compares it with the host (see Diff),
// and sends only the difference: one archive for the copies, then deletes.
// A container root that does not exist yet is created.
//
// Paths that tree.Skip ignores are left alone on both sides, and so are
// host paths the symlink policy skips, special files and folders that
// cannot be read, with what the container has under them.
//
// It is safe to call concurrently for different containers; it must not
// overlap with Apply or another Reconcile for the same container.
//
// Deletes need a running container: on a stopped one the copies are done
// and the error wraps ErrNeedsRunning. Reconciling again once it runs
// finishes the work.
func Reconcile(ctx context.Context, c Reconciler, containerID string, tree *Tree, owner Owner, log hclog.Logger) (Result, error) {
	return ReconcileProgress(ctx, c, containerID, tree, owner, log, nil)
}

// ReconcileProgress is Reconcile that reports its progress to report, when
// it is not nil: PhaseComparing first, then PhaseCopying and PhaseDeleting
// with the totals and the counts so far, and PhaseDone last, whatever the
// outcome. A container that already matches the host goes from
// PhaseComparing to PhaseDone with totals of zero.
func ReconcileProgress(ctx context.Context, c Reconciler, containerID string, tree *Tree, owner Owner, log hclog.Logger, report ProgressFunc) (Result, error) {
	if report == nil {
		report = func(Progress) {}
	}
	var p Progress
	defer func() {
		p.Phase = PhaseDone
		report(p)
	}()
	p.Phase = PhaseComparing
	report(p)

	if log == nil {
		log = hclog.NewNullLogger()
	}
	if tree == nil {
		return Result{}, errors.New("reconciling: no tree")
	}
	if _, err := tree.ContainerPath(tree.HostRoot); err != nil {
		return Result{}, fmt.Errorf("reconciling %s: %w", tree.HostRoot, err)
	}
	if path.Clean(tree.ContainerRoot) == "/" {
		return Result{}, fmt.Errorf("reconciling %s: the target is the container's root folder, and reconciling it would delete the whole image; use a folder as target", tree.HostRoot)
	}

	d, err := diffSubtree(ctx, c, containerID, wholeTree(tree), owner, log)
	res := Result{Skipped: d.skipped}
	errs := append(d.walkErrs, d.readErrs...)
	if err != nil {
		return res, errors.Join(append(errs, fmt.Errorf("reconciling %s: %w", tree.HostRoot, err))...)
	}
	log.Debug("reconciling", "container_id", engine.ShortID(containerID), "path", tree.HostRoot,
		"copies", len(d.entries), "deletes", len(d.deletes))

	p.TotalFiles = len(d.entries) + len(d.deletes)
	for _, e := range d.entries {
		if e.Info.Mode().IsRegular() {
			p.TotalBytes += e.Info.Size()
		}
	}

	if len(d.entries) > 0 {
		p.Phase = PhaseCopying
		report(p)
		stats, err := copyEntriesProgress(ctx, c, containerID, d.entries, owner, func(handled int, bytes int64) {
			p.Files, p.Bytes = handled, bytes
			report(p)
		})
		p.Bytes = stats.bytes
		errs = append(errs, stats.errs...)
		if err != nil {
			errs = append(errs, err)
		} else {
			res.Copied, res.Bytes = stats.entries, stats.bytes
		}
	}

	if len(d.deletes) > 0 {
		p.Phase = PhaseDeleting
		report(p)
		copied := p.Files
		n, err := removePathsProgress(ctx, c, containerID, d.deletes, func(handled int) {
			p.Files = copied + handled
			report(p)
		})
		res.Deleted = n
		if err != nil {
			errs = append(errs, err)
		}
	}

	log.Debug("reconciled", "container_id", engine.ShortID(containerID), "path", tree.HostRoot,
		"copied", res.Copied, "deleted", res.Deleted, "bytes", res.Bytes, "skipped", len(res.Skipped))
	return res, errors.Join(errs...)
}
