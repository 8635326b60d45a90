package sync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/devdtool/devd/engine"
)

var (
	// ErrNeedsRunning means deletes were not done because the container is
	// not running: the archive API can copy into a stopped container but
	// cannot delete. Keep the work and apply it again once the container
	// runs.
	ErrNeedsRunning = errors.New("deletes need a running container")

	// ErrNoRemover means the container has neither an rm command nor devd's
	// supervisor, so deleted host files stay in the container. Report it
	// once per container; copies are not affected.
	ErrNoRemover = errors.New("the container has no rm command and no devd supervisor")
)

// SupervisorPath is the path of devd's own binary in containers that
// `devd up` started. Its `supervise rm --root ROOT -- PATH...` subcommand removes paths with
// RemoveAll, for images that have no rm (scratch, distroless).
const SupervisorPath = "/.devd/devd-supervisor"

// maxDeleteArgs bounds the bytes of paths given to one command, well under
// the kernel's argument limit. A larger batch runs several commands.
const maxDeleteArgs = 64 << 10

// deleteUser runs deletes as root, because files copied before the
// container's user changed, or baked into the image, may belong to anyone.
const deleteUser = "0"

// remover runs delete commands in one container: `rm -rf`, then devd's
// supervisor once rm proved missing.
type remover struct {
	c  Copier
	id string

	noRm bool // rm is missing: use the supervisor
}

// Remover deletes container paths without running a command in the
// container, as devd's supervisor does through its socket. A Copier that is
// also a Remover is used for deletes instead of exec.
type Remover interface {
	// RemovePaths removes paths strictly under root, never following a
	// link out of it. A path already gone is no error. A stopped container
	// gives an error wrapping ErrNeedsRunning.
	RemovePaths(ctx context.Context, id, root string, paths []string) error
}

// removePaths removes the deletes, grouped by tree, and returns how many are
// done. A path already gone counts as done. Every path must be strictly
// under its tree's ContainerRoot, or it is rejected.
func removePaths(ctx context.Context, c Copier, id string, deletes []Delete) (int, error) {
	return removePathsProgress(ctx, c, id, deletes, nil)
}

// removePathsProgress is removePaths that calls progress, when it is not
// nil, after each delete command with how many paths it handled so far,
// removed or not.
func removePathsProgress(ctx context.Context, c Copier, id string, deletes []Delete, progress func(handled int)) (int, error) {
	r := &remover{c: c, id: id}
	done, handled := 0, 0
	var errs []error
	for _, group := range groupDeletes(deletes) {
		for _, chunk := range chunkPaths(group.paths, maxDeleteArgs) {
			err := r.remove(ctx, group.root, chunk)
			handled += len(chunk)
			if progress != nil {
				progress(handled)
			}
			if err != nil {
				errs = append(errs, err)
				if errors.Is(err, ErrNeedsRunning) || errors.Is(err, ErrNoRemover) || ctx.Err() != nil {
					// Every later command would fail the same way.
					return done, errors.Join(errs...)
				}
				continue
			}
			done += len(chunk)
		}
	}
	return done, errors.Join(errs...)
}

type deleteGroup struct {
	root  string
	paths []string
}

// groupDeletes groups deletes by container root, in order of first
// appearance.
func groupDeletes(deletes []Delete) []deleteGroup {
	var groups []deleteGroup
	index := map[string]int{}
	for _, d := range deletes {
		root := path.Clean(d.Tree.ContainerRoot)
		i, ok := index[root]
		if !ok {
			i = len(groups)
			index[root] = i
			groups = append(groups, deleteGroup{root: root})
		}
		groups[i].paths = append(groups[i].paths, d.Path)
	}
	return groups
}

// remove deletes one chunk of paths under root.
func (r *remover) remove(ctx context.Context, root string, paths []string) error {
	for _, p := range paths {
		if err := checkRemovable(root, p); err != nil {
			return fmt.Errorf("deleting %d paths in container %s: %w", len(paths), engine.ShortID(r.id), err)
		}
	}

	if rm, ok := r.c.(Remover); ok {
		if err := rm.RemovePaths(ctx, r.id, root, paths); err != nil {
			return fmt.Errorf("deleting %d paths in container %s: %w", len(paths), engine.ShortID(r.id), err)
		}
		return nil
	}

	if !r.noRm {
		res, err := r.exec(ctx, append([]string{"rm", "-rf", "--"}, paths...), len(paths))
		if err != nil {
			return err
		}
		if !missingCommand(res.ExitCode) {
			return r.check(res, "rm", len(paths))
		}
		r.noRm = true
	}

	cmd := append([]string{SupervisorPath, "supervise", "rm", "--root", root, "--"}, paths...)
	res, err := r.exec(ctx, cmd, len(paths))
	if err != nil {
		return err
	}
	if missingCommand(res.ExitCode) {
		return fmt.Errorf("deleting %d paths in container %s: %w; deleted files stay in the container: start the project with `devd up`, which adds devd's supervisor, or add rm (busybox) to the image",
			len(paths), engine.ShortID(r.id), ErrNoRemover)
	}
	return r.check(res, "devd's supervisor", len(paths))
}

func (r *remover) exec(ctx context.Context, cmd []string, n int) (engine.ExecResult, error) {
	res, err := r.c.Exec(ctx, r.id, cmd, engine.ExecOptions{User: deleteUser})
	if errors.Is(err, engine.ErrNotRunning) {
		return res, fmt.Errorf("deleting %d paths: %w, keep them until it runs: %w", n, ErrNeedsRunning, err)
	}
	if err != nil {
		return res, fmt.Errorf("deleting %d paths: %w", n, err)
	}
	if missingCommand(res.ExitCode) && stoppedDuringExec(res.Output) {
		// The container stopped after the exec was created, so the command
		// may well exist: retry once the container runs.
		return res, fmt.Errorf("deleting %d paths: %w, keep them until it runs: %s", n, ErrNeedsRunning,
			strings.TrimSpace(string(res.Output)))
	}
	return res, nil
}

// stoppedDuringExec reports whether an exec's output is the runtime's
// message for a container that stopped, such as runc's "cannot exec in a
// stopped state" or "cannot exec a container that has stopped".
func stoppedDuringExec(out []byte) bool {
	s := strings.ToLower(string(out))
	if strings.Contains(s, "executable file not found") || strings.Contains(s, "no such file or directory") {
		return false
	}
	return strings.Contains(s, "stopped") || strings.Contains(s, "not running")
}

func (r *remover) check(res engine.ExecResult, command string, n int) error {
	if res.ExitCode == 0 {
		return nil
	}
	return fmt.Errorf("deleting %d paths in container %s: %s exited with %d: %s",
		n, engine.ShortID(r.id), command, res.ExitCode, strings.TrimSpace(string(res.Output)))
}

// missingCommand reports the exit codes the engine gives for a command it
// cannot run: 126 (not executable) and 127 (not found).
func missingCommand(code int) bool {
	return code == 126 || code == 127
}

// checkRemovable rejects a path that is not clean, absolute and strictly
// under root.
func checkRemovable(root, p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p || p == root || !within(root, p) {
		return fmt.Errorf("deleting %q: %w: not a clean path strictly under %s", p, ErrOutsideTree, root)
	}
	return nil
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

// RemoveAll removes each path and everything under it, like `rm -rf`: a
// path already gone, or below a file, counts as removed. It is what devd's
// supervisor runs in containers without rm.
//
// Every path must be absolute, clean and strictly under root, or nothing is
// removed. A symlink is removed itself, never followed. The folders above a
// path are resolved first, and a path whose parent resolves outside root
// (through a link the container has in its parents) is not in the tree, so
// it is left alone, as a path already gone is. The error joins the paths
// that could not be removed; the others are removed.
func RemoveAll(root string, paths []string) error {
	if !filepath.IsAbs(root) || filepath.Clean(root) != root {
		return fmt.Errorf("removing %d paths: root %q must be absolute and clean", len(paths), root)
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == root || !hostWithin(root, p) {
			return fmt.Errorf("removing %q: %w: not a clean path strictly under %s", p, ErrOutsideTree, root)
		}
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if isGone(err) {
		// Nothing under a missing root can exist.
		return nil
	}
	if err != nil {
		return fmt.Errorf("resolving %s: %w", root, err)
	}

	var errs []error
	for _, p := range paths {
		parent, err := filepath.EvalSymlinks(filepath.Dir(p))
		if isGone(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("resolving %s: %w", p, err))
			continue
		}
		if !hostWithin(realRoot, parent) {
			// A link in the container leads out of the tree: the path is
			// not in it, so there is nothing to remove, and an error would
			// hold the batch back for good.
			continue
		}
		err = os.RemoveAll(filepath.Join(parent, filepath.Base(p)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			errs = append(errs, fmt.Errorf("removing %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
