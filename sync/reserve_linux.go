package sync

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// reserve allocates the disk space for the first size bytes of f without
// changing its content or length, and fails with ENOSPC when it is missing.
// On file systems without fallocate it reserves nothing. NOTE: copy-on-write
// file systems (btrfs) can still run out of space while writing.
func reserve(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = conn.Control(func(fd uintptr) {
		for {
			ferr = unix.Fallocate(int(fd), unix.FALLOC_FL_KEEP_SIZE, 0, size)
			if !errors.Is(ferr, unix.EINTR) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if errors.Is(ferr, unix.EOPNOTSUPP) || errors.Is(ferr, unix.ENOSYS) || errors.Is(ferr, unix.EINVAL) {
		return nil
	}
	return ferr
}
