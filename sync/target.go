package sync

import (
	"errors"
	"fmt"
	"path"

	"github.com/devdtool/devd/engine"
)

// ErrTargetUnreachable means the archive API cannot put files where a tree
// needs them in a container: copies fail, or land where the container does
// not see them.
var ErrTargetUnreachable = errors.New("the Engine archive API cannot reach the sync target")

// CheckTarget reports what keeps a tree's files from reaching a container,
// from its inspected configuration, with the Compose key to change:
//
//   - A read-only root file system (read_only: true): the engine rejects
//     every copy.
//   - A read-only mount at or above the target.
//   - A tmpfs mount at, above or below the target (tmpfs: or a tmpfs
//     volume): the engine writes beneath tmpfs mounts, so the files are
//     hidden from the container, while copies and Reconcile report success.
//
// The error wraps ErrTargetUnreachable; nil means none of these applies.
// Call it when a container is first seen, and report it once.
func CheckTarget(c engine.Container, t *Tree) error {
	return checkTarget(c, t, false)
}

// CheckTargetFromInside is CheckTarget for copies made inside the
// container, by devd's supervisor: they see tmpfs mounts as the container
// does, so only read-only targets are unreachable.
func CheckTargetFromInside(c engine.Container, t *Tree) error {
	return checkTarget(c, t, true)
}

func checkTarget(c engine.Container, t *Tree, inside bool) error {
	root := path.Clean(t.ContainerRoot)
	name := c.Name
	if name == "" {
		name = engine.ShortID(c.ID)
	}
	var errs []error
	if c.ReadOnlyRootfs {
		errs = append(errs, fmt.Errorf("container %s has a read-only root file system (read_only: true), and the engine rejects every copy into it: %w; remove read_only for development, or use a bind mount for %s",
			name, ErrTargetUnreachable, t.HostRoot))
	}
	for _, m := range c.Mounts {
		dst := path.Clean(m.Destination)
		above := within(dst, root)
		below := !above && within(root, dst)
		switch {
		case inside && m.Type == "tmpfs":
		case m.Type == "tmpfs" && above:
			errs = append(errs, fmt.Errorf("target %s in container %s is on a tmpfs mount at %s: %w: the engine writes beneath tmpfs mounts, where the container cannot see the files; sync into a folder of the image or a volume",
				root, name, dst, ErrTargetUnreachable))
		case m.Type == "tmpfs" && below:
			errs = append(errs, fmt.Errorf("folder %s under target %s in container %s is a tmpfs mount: %w: files synced there are hidden from the container; ignore that folder in the sync rule",
				dst, root, name, ErrTargetUnreachable))
		case m.ReadOnly && above:
			errs = append(errs, fmt.Errorf("target %s in container %s is on a read-only %s mount at %s: %w; mount it read-write",
				root, name, m.Type, dst, ErrTargetUnreachable))
		}
	}
	return errors.Join(errs...)
}
