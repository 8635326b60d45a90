package engine

import (
	"context"
	"io"

	"github.com/docker/docker/api/types/container"
)

// CopyToContainer extracts the tar stream content into dstDir, which must
// exist in the container. Copying to "/" with full paths in the entries
// avoids that need. It works on stopped containers too.
//
// An existing folder is never replaced by a file, nor a file by a folder:
// the engine rejects the whole archive instead. The engine also rejects the
// archive when a folder entry lands on a path that is a symlink in the
// container. Each file is removed and recreated, so it gets a new inode.
func (c *Client) CopyToContainer(ctx context.Context, id, dstDir string, content io.Reader) error {
	err := c.api.CopyToContainer(ctx, id, dstDir, content, container.CopyToContainerOptions{
		AllowOverwriteDirWithFile: false,
	})
	if err != nil {
		return c.wrap(ctx, "copying to "+dstDir+" in", id, err)
	}
	return nil
}

// CopyFromContainer returns srcPath, file or folder, as a tar stream whose
// entries are named from srcPath's base name. The caller closes it. A
// missing path gives an error wrapping ErrNotFound.
func (c *Client) CopyFromContainer(ctx context.Context, id, srcPath string) (io.ReadCloser, error) {
	rc, _, err := c.api.CopyFromContainer(ctx, id, srcPath)
	if err != nil {
		return nil, c.wrap(ctx, "copying "+srcPath+" from", id, err)
	}
	return rc, nil
}
