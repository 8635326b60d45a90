//go:build linux

package watch

import (
	"io/fs"
	"syscall"
)

// lstatState returns the state of path without following a symbolic link.
// It calls lstat directly, because os.Lstat allocates a FileInfo for each
// call, which shows in the CPU time of polling large trees.
func lstatState(path string) (fileState, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(path, &st)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			return fileState{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
	}

	return fileState{
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
		size:  int64(st.Size),
		ino:   uint64(st.Ino),
		mode:  fileMode(uint32(st.Mode)),
	}, nil
}

// fileMode converts the mode bits of lstat to an fs.FileMode, as os.Lstat
// does.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// fileID returns the inode number of the file that info describes, or 0
// when it is unknown.
func fileID(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
