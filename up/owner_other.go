//go:build !unix

package up

import "io/fs"

// fileOwner reports the owner as unknown where files have no uid.
func fileOwner(fs.FileInfo) (int, bool) {
	return 0, false
}
