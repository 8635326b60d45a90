package engine

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// CopyToContainer extracts the tar stream content into dstDir, which must
// exist in the container. Copying to "/" with full paths in the entries
// avoids that need. It works on stopped containers too.
//
// An entry replaces whatever is at its path unless both are folders: a file
// replaces a folder and everything in it, a folder replaces a file or a
// symlink. A folder entry over an existing folder keeps its content and
// resets its owner, mode and time to the entry's. Each file is removed and
// recreated, so it gets a new inode. Folders an entry needs but the archive
// does not hold are created owned by root with mode 0755.
//
// Extraction runs in the container's root filesystem: a symlink that the
// container has in an entry's parent folders is followed inside that file
// system, never to the host. Volumes and bind mounts are reached; tmpfs
// mounts are not, since the engine writes beneath them where the container
// cannot see the files.
func (c *Client) CopyToContainer(ctx context.Context, id, dstDir string, content io.Reader) error {
	err := c.api.CopyToContainer(ctx, id, dstDir, content, container.CopyToContainerOptions{
		// The engine then replaces a path whose type changed (file to
		// folder and back) within the same archive, which needs neither a
		// running container nor an rm command.
		AllowOverwriteDirWithFile: true,
	})
	if err != nil {
		if strings.Contains(err.Error(), "rootfs is marked read-only") {
			err = fmt.Errorf("%w (Compose read_only: true); copying needs a writable root filesystem", err)
		}
		return c.wrap(ctx, "copying to "+dstDir+" in", id, err)
	}
	return nil
}

// CopyFromContainer returns srcPath, file or folder, as a tar stream whose
// entries are named from srcPath's base name. The caller closes it. A
// missing path gives an error wrapping ErrNotFound. A final symlink is
// archived as a link, unless srcPath ends with a slash, which follows it.
// It works on stopped containers too.
func (c *Client) CopyFromContainer(ctx context.Context, id, srcPath string) (io.ReadCloser, error) {
	rc, _, err := c.api.CopyFromContainer(ctx, id, srcPath)
	if err != nil {
		return nil, c.wrap(ctx, "copying "+srcPath+" from", id, err)
	}
	return rc, nil
}

// PathStat describes one path in a container.
type PathStat struct {
	Name string // base name
	Size int64
	Mode fs.FileMode

	// LinkTarget is, for a symlink, the absolute path it resolves to inside
	// the container. It is empty for other types.
	LinkTarget string
}

// StatPath describes path in the container without copying it. A final
// symlink is described itself, unless path ends with a slash, which follows
// it. A missing path gives an error wrapping ErrNotFound; a path below a
// file gives another error. It works on stopped containers too.
func (c *Client) StatPath(ctx context.Context, id, path string) (PathStat, error) {
	st, err := c.api.ContainerStatPath(ctx, id, path)
	if cerrdefs.IsNotFound(err) {
		// An expected result when probing which folders exist: naming the
		// container would cost an inspect per probe.
		return PathStat{}, fmt.Errorf("statting %s in container %s: %w", path, ShortID(id), ErrNotFound)
	}
	if err != nil {
		return PathStat{}, c.wrap(ctx, "statting "+path+" in", id, err)
	}
	return PathStat{Name: st.Name, Size: st.Size, Mode: st.Mode, LinkTarget: st.LinkTarget}, nil
}
