package sync

import (
	"context"
	"errors"
	"fmt"
	"path"
	stdsync "sync"

	"github.com/devdtool/devd/engine"
)

// Stater is implemented by a Copier that can describe a container path
// without copying it, as *engine.Client does. Apply uses it to write
// implicit folder entries only where the container lacks the folder. The
// engine would otherwise reset the owner and mode of every existing parent
// folder to the entry's. Apply calls it from several goroutines at once for
// the same container.
type Stater interface {
	// StatPath describes path; a trailing slash follows a final symlink. A
	// missing path gives an error wrapping engine.ErrNotFound.
	StatPath(ctx context.Context, id, path string) (engine.PathStat, error)
}

var _ Stater = (*engine.Client)(nil)

// statConcurrency bounds the stat requests one batch has in flight.
const statConcurrency = 8

// keepNeeded returns the entries to write: every explicit entry, and the
// implicit ones where the container has no folder. Every implicit folder is
// probed, concurrently. A folder counts as existing only when its parents
// do too, because a parent that is a file or a link in the container is
// replaced by a folder. So nothing is written through the container's own
// links below the tree's root.
//
// A tree whose root exists but is not a folder, or cannot be reached, is
// left out whole and reported in bad, keyed by its cleaned ContainerRoot.
// A root that is the container's own link to a folder is followed.
//
// Without a Stater, implicit parents are all written (resetting existing
// ones), and implicit roots are not (the engine creates a missing root
// owned by root).
func keepNeeded(ctx context.Context, c Copier, id string, entries []Entry) (toWrite []Entry, bad map[string]error) {
	st, ok := c.(Stater)
	if !ok {
		for _, e := range entries {
			if !e.implicit || !isRoot(e) {
				toWrite = append(toWrite, e)
			}
		}
		return toWrite, nil
	}

	var implicit []Entry
	for _, e := range entries {
		if e.implicit {
			implicit = append(implicit, e)
		}
	}
	results := probe(ctx, st, id, implicit)

	// Entries are sorted, so a parent is decided before its children.
	needed := map[string]bool{}
	bad = map[string]error{}
	for i, e := range implicit {
		p, r := e.ContainerPath, results[i]
		switch {
		case p == "/":
			// Always there, and never written.
		case isRoot(e):
			switch {
			case r.err == nil && r.stat.Mode.IsDir():
			case errors.Is(r.err, engine.ErrNotFound):
				needed[p] = true
			default:
				bad[p] = rootNotFolder(ctx, st, id, e, r.err)
			}
		case needed[path.Dir(p)]:
			needed[p] = true
		case r.err == nil && r.stat.Mode.IsDir():
		default:
			// Missing, or a file or link the engine replaces.
			needed[p] = true
		}
	}

	for _, e := range entries {
		if _, ok := bad[path.Clean(e.Tree.ContainerRoot)]; ok {
			continue
		}
		if !e.implicit || needed[e.ContainerPath] {
			toWrite = append(toWrite, e)
		}
	}
	return toWrite, bad
}

func isRoot(e Entry) bool {
	return e.ContainerPath == path.Clean(e.Tree.ContainerRoot)
}

type probeResult struct {
	stat engine.PathStat
	err  error
}

// probe stats the entries' container paths concurrently. A root is probed
// with a trailing slash, which follows the container's own link to a
// folder; other paths are described themselves.
func probe(ctx context.Context, st Stater, id string, entries []Entry) []probeResult {
	results := make([]probeResult, len(entries))
	sem := make(chan struct{}, statConcurrency)
	var wg stdsync.WaitGroup
	for i, e := range entries {
		if e.ContainerPath == "/" {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			target := e.ContainerPath
			if isRoot(e) {
				target += "/"
			}
			s, err := st.StatPath(ctx, id, target)
			results[i] = probeResult{s, err}
		})
	}
	wg.Wait()
	return results
}

// rootNotFolder explains why a tree root that is not missing cannot take
// the tree's folder.
func rootNotFolder(ctx context.Context, st Stater, id string, e Entry, cause error) error {
	root := e.ContainerPath
	s, err := st.StatPath(ctx, id, root)
	switch {
	case err == nil && s.Mode.IsRegular():
		return fmt.Errorf("syncing %s: target %s is a file in container %s, not a folder; check the target in the Compose file, or remove the file from the image",
			e.Tree.HostRoot, root, engine.ShortID(id))
	case err == nil && !s.Mode.IsDir():
		return fmt.Errorf("syncing %s: target %s is a %s in container %s, not a folder",
			e.Tree.HostRoot, root, s.Mode.Type().String(), engine.ShortID(id))
	case errors.Is(cause, ErrNeedsRunning) || ctx.Err() != nil:
		// The container stopped, so nothing shows that the target is wrong.
		return fmt.Errorf("syncing %s: checking target %s: %w", e.Tree.HostRoot, root, cause)
	default:
		return fmt.Errorf("syncing %s: checking target %s (is one of its parent folders a file in the container?): %w",
			e.Tree.HostRoot, root, cause)
	}
}
