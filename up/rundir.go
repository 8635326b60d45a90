package up

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Modes of the control folders. See RunDir for why they differ.
const (
	privateDirMode fs.FileMode = 0o700
	serviceDirMode fs.FileMode = 0o777 | fs.ModeSticky
)

// RunDir returns the host folder that holds the control sockets of a
// service's supervisors, creating it: $XDG_RUNTIME_DIR/devd/run/<project>/
// <service>, or /tmp/devd-<uid>/run/<project>/<service> when
// XDG_RUNTIME_DIR is not set. It is bind-mounted at /.devd/run in the
// service's containers.
//
// Every folder on the way is mode 0700 and owned by the user, and the
// service's own folder is mode 1777. The container's process may run as
// any uid: a `user:` of the service, the image's USER, or under rootless
// Docker a subordinate id of the host user. It must be able to create its
// socket in the folder, so the folder is writable by everyone. The sticky
// bit keeps one uid from removing another's socket, which matters when
// replicas of the service run as different users. The folder's owner,
// devd, can still remove any of them.
//
// The container reaches the folder through its mount point and never
// walks the host path, so the parents can stay 0700. They keep every other
// user of the host away from the sockets, which are world-writable files:
// connecting to a Unix socket needs write permission on it, and devd runs
// as a different uid than the container's process.
//
// Under /tmp, which every user can write, someone else could have created
// the user's folder first. RunDir rejects a folder there that is a
// symbolic link, is owned by another user or is open to others.
func RunDir(project, service string) (string, error) {
	return runDir(os.Getenv, os.Getuid(), "/tmp", project, service)
}

func runDir(getenv func(string) string, uid int, tmp, project, service string) (string, error) {
	for _, name := range []string{project, service} {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return "", fmt.Errorf("creating control folder: %q cannot be a folder name", name)
		}
	}

	root, err := runRoot(getenv, uid, tmp)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "run", project, service)
	if err := os.MkdirAll(filepath.Dir(dir), privateDirMode); err != nil {
		return "", fmt.Errorf("creating control folder %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, privateDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating control folder %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("creating control folder %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("creating control folder %s: it exists and is not a folder; remove it", dir)
	}
	// Chmod, because the mode given to Mkdir passes through the umask.
	if err := os.Chmod(dir, serviceDirMode); err != nil {
		return "", fmt.Errorf("opening control folder %s to the container's user: %w", dir, err)
	}
	return dir, nil
}

// runRoot returns devd's private runtime folder, creating it.
func runRoot(getenv func(string) string, uid int, tmp string) (string, error) {
	if xdg := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(xdg) {
		root := filepath.Join(xdg, "devd")
		if err := os.MkdirAll(root, privateDirMode); err != nil {
			return "", fmt.Errorf("creating runtime folder %s: %w", root, err)
		}
		return root, nil
	}

	root := filepath.Join(tmp, fmt.Sprintf("devd-%d", uid))
	if err := os.Mkdir(root, privateDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating runtime folder %s: %w", root, err)
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return "", fmt.Errorf("creating runtime folder %s: %w", root, err)
	}
	owner, known := fileOwner(fi)
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("runtime folder %s is not a folder (a symbolic link?); remove it, or set XDG_RUNTIME_DIR", root)
	case known && owner != uid:
		return "", fmt.Errorf("runtime folder %s belongs to another user (uid %d); remove it, or set XDG_RUNTIME_DIR", root, owner)
	case fi.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("runtime folder %s is open to other users (mode %s); remove it, or run chmod 700 on it", root, fi.Mode().Perm())
	}
	return root, nil
}

// PruneSockets removes the control sockets in a service's control folder
// that belong to none of the containers live (full or short ids): the ones
// that containers removed since left behind. It returns how many it
// removed. Files that are not named as a supervisor names its socket are
// left alone.
func PruneSockets(dir string, live []string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("listing control folder %s: %w", dir, err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".sock")
		if !ok || len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" || e.Type()&fs.ModeSocket == 0 {
			continue
		}
		inUse := false
		for _, l := range live {
			if strings.HasPrefix(l, id) {
				inUse = true
				break
			}
		}
		if inUse {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
