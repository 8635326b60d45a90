package sync

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/devdtool/devd/engine"
)

// Reader reads container files through the archive API, which needs no
// tool in the image and works on stopped containers.
type Reader interface {
	// CopyFromContainer returns srcPath as a tar stream whose entries are
	// named from its base name; a trailing slash follows a final symlink.
	// A missing path gives an error wrapping engine.ErrNotFound.
	CopyFromContainer(ctx context.Context, id, srcPath string) (io.ReadCloser, error)
}

var _ Reader = (*engine.Client)(nil)

// maxIDFileSize bounds what is read of /etc/passwd and /etc/group.
const maxIDFileSize = 4 << 20

// maxLinkHops bounds the symlinks followed to reach /etc/passwd.
const maxLinkHops = 8

// maxID is the largest uid or gid the engine accepts.
const maxID = 1<<31 - 1

// ResolveOwner returns the owner that files copied into the container get,
// for user in the syntax of the container's Config.User (or an x-devd user):
// "", "name", "uid", "uid:gid", "name:group", "uid:group" or "name:gid".
// It reads the container's /etc/passwd and /etc/group through the archive
// API, so it works without tools in the image and on stopped containers.
//
// It resolves as the engine does when it starts the container's process
// (moby's daemon/oci_linux.go getUser, which calls GetExecUser of
// github.com/moby/sys/user with no defaults, that is uid 0 and gid 0):
//
//   - "" is root, 0:0, without reading anything.
//   - A name must have a passwd entry, which gives the uid and gid.
//   - A numeric uid takes the gid of the first passwd entry with that uid;
//     without one, the gid is 0, not the uid.
//   - An explicit group replaces the gid: a name must have a group entry, a
//     number is used as is.
//
// A missing /etc/passwd or /etc/group (scratch images) counts as empty.
func ResolveOwner(ctx context.Context, r Reader, containerID, user string) (Owner, error) {
	if user == "" {
		return Owner{}, nil
	}
	passwd, err := readContainerFile(ctx, r, containerID, "/etc/passwd")
	if err != nil {
		return Owner{}, fmt.Errorf("resolving user %q: %w", user, err)
	}
	var group []byte
	if _, groupPart, _ := strings.Cut(user, ":"); groupPart != "" {
		group, err = readContainerFile(ctx, r, containerID, "/etc/group")
		if err != nil {
			return Owner{}, fmt.Errorf("resolving user %q: %w", user, err)
		}
	}
	owner, err := ownerFromFiles(user, passwd, group)
	if err != nil {
		return Owner{}, fmt.Errorf("resolving user %q in container %s: %w", user, engine.ShortID(containerID), err)
	}
	return owner, nil
}

// ownerFromFiles resolves user against the contents of /etc/passwd and
// /etc/group, nil when the file is missing.
func ownerFromFiles(user string, passwd, group []byte) (Owner, error) {
	userPart, groupPart, _ := strings.Cut(user, ":")
	// A third colon-separated field, if any, is ignored like the engine does.
	groupPart, _, _ = strings.Cut(groupPart, ":")

	uid, userIsID, err := parseID(userPart)
	if err != nil {
		return Owner{}, err
	}
	var owner Owner
	entry, found := lookupEntry(passwd, func(name string, id int) bool {
		switch {
		case userPart == "":
			return id == 0
		case userIsID:
			return id == uid
		default:
			return name == userPart
		}
	}, 2, 3)
	switch {
	case found:
		owner = Owner{UID: entry[0], GID: entry[1]}
	case userIsID:
		owner = Owner{UID: uid}
	case userPart != "":
		return Owner{}, fmt.Errorf("no user %q in the container's /etc/passwd; use a numeric uid or add the user to the image", userPart)
	}

	if groupPart == "" {
		return owner, nil
	}
	gid, groupIsID, err := parseID(groupPart)
	if err != nil {
		return Owner{}, err
	}
	g, found := lookupEntry(group, func(name string, id int) bool {
		if groupIsID {
			return id == gid
		}
		return name == groupPart
	}, 2)
	switch {
	case found:
		owner.GID = g[0]
	case groupIsID:
		owner.GID = gid
	default:
		return Owner{}, fmt.Errorf("no group %q in the container's /etc/group; use a numeric gid or add the group to the image", groupPart)
	}
	return owner, nil
}

// parseID reads a uid or gid. A string that is not a decimal number is a
// name; a number outside the engine's range is an error.
func parseID(s string) (id int, numeric bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxID {
		return 0, false, fmt.Errorf("id %s is out of range 0-%d", s, maxID)
	}
	return int(n), true, nil
}

// lookupEntry returns the numeric fields at idFields of the first line of a
// colon-separated file (passwd or group) that match reports. The name is
// field 0 and the id the first of idFields. Malformed lines are skipped.
func lookupEntry(data []byte, match func(name string, id int) bool, idFields ...int) ([]int, bool) {
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(make([]byte, 0, 64<<10), maxIDFileSize)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		ids := make([]int, 0, len(idFields))
		ok := true
		for _, f := range idFields {
			if f >= len(fields) {
				ok = false
				break
			}
			n, err := strconv.Atoi(fields[f])
			if err != nil || n < 0 {
				ok = false
				break
			}
			ids = append(ids, n)
		}
		if ok && match(fields[0], ids[0]) {
			return ids, true
		}
	}
	return nil, false
}

// readContainerFile returns a small file of the container, following
// symlinks inside the container. A missing file gives nil and no error.
func readContainerFile(ctx context.Context, r Reader, id, name string) ([]byte, error) {
	for range maxLinkHops {
		rc, err := r.CopyFromContainer(ctx, id, name)
		if errors.Is(err, engine.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		data, link, err := readSingleFile(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if link == "" {
			return data, nil
		}
		if !path.IsAbs(link) {
			link = path.Join(path.Dir(name), link)
		}
		name = path.Clean(link)
	}
	return nil, fmt.Errorf("reading %s: too many levels of symlinks", name)
}

// readSingleFile reads the first entry of a tar stream: a regular file's
// content, or a symlink's target.
func readSingleFile(r io.Reader) (data []byte, link string, err error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return nil, "", err
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		return nil, hdr.Linkname, nil
	case tar.TypeReg:
		data, err := io.ReadAll(io.LimitReader(tr, maxIDFileSize))
		return data, "", err
	default:
		return nil, "", fmt.Errorf("not a regular file (tar type %q)", hdr.Typeflag)
	}
}
