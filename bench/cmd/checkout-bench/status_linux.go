package main

import (
	"io/fs"
	"syscall"
)

// fileStatus returns the size, times and inode of a file, without a hash.
func fileStatus(info fs.FileInfo) (hashed, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return hashed{}, false
	}
	return hashed{size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), ino: st.Ino}, true
}
