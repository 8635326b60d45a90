//go:build !linux

package watch

import (
	"io/fs"
	"os"
)

// lstatState returns the state of path without following a symbolic link.
// Outside Linux, the inode number and the change time are left at 0.
func lstatState(path string) (fileState, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return fileState{}, err
	}
	return fileState{mtime: info.ModTime().UnixNano(), size: info.Size(), mode: info.Mode()}, nil
}

// fileID returns 0: outside Linux, the Watcher does not compare inode
// numbers.
func fileID(fs.FileInfo) uint64 { return 0 }
