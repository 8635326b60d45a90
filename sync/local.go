package sync

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/devdtool/devd/engine"
)

// This file holds the file operations that devd's supervisor performs
// inside a container on devd's behalf: the same work as the engine's
// archive API, without a round trip through the engine. Every write goes
// through an os.Root opened at a target folder, so a link placed in the
// container cannot lead a write out of it.

// ExtractStats counts what Extract wrote.
type ExtractStats struct {
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

// Extract writes a tar stream built by WriteTar (names are container paths
// without the leading slash) into the local file system, as the engine's
// archive API does when it extracts at "/". Every entry must be one of roots
// or lie under one, and is rejected with ErrOutsideTree otherwise.
//
// A missing root folder is created with its parents. A root that is a link
// or not a folder is rejected. An entry replaces a path of another type. A
// file that replaces a path is written to a temporary name in its folder and
// renamed over it, so readers see the old or the new content, never a part;
// a new file is written in place. Owners, modes and modification times come
// from the headers; a link's time is left as it is created.
//
// A rejected or failed entry does not stop the others: the error joins
// them. A broken stream stops the extraction.
func Extract(r io.Reader, roots []string) (ExtractStats, error) {
	ex := extractor{roots: map[string]*os.Root{}}
	for _, root := range roots {
		if !path.IsAbs(root) || path.Clean(root) != root {
			return ExtractStats{}, fmt.Errorf("extracting: root %q must be absolute and clean", root)
		}
		ex.order = append(ex.order, root)
	}
	// The longest root that contains a path is the one it belongs to.
	slices.SortFunc(ex.order, func(a, b string) int { return len(b) - len(a) })
	defer ex.close()

	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return ex.stats, errors.Join(ex.errs...)
		}
		if err != nil {
			ex.errs = append(ex.errs, fmt.Errorf("reading the archive: %w", err))
			return ex.stats, errors.Join(ex.errs...)
		}
		if err := ex.entry(hdr, tr); err != nil {
			ex.errs = append(ex.errs, err)
		}
	}
}

type extractor struct {
	order []string
	roots map[string]*os.Root
	stats ExtractStats
	errs  []error
}

func (ex *extractor) close() {
	for _, r := range ex.roots {
		r.Close()
	}
}

// entry writes one tar entry. Content that is not read is skipped by the
// next call to Next.
func (ex *extractor) entry(hdr *tar.Header, content io.Reader) error {
	p := path.Clean("/" + strings.TrimSuffix(hdr.Name, "/"))
	if "/"+strings.TrimSuffix(hdr.Name, "/") != p {
		return fmt.Errorf("extracting %q: %w: not a clean path", hdr.Name, ErrOutsideTree)
	}
	root := ""
	for _, r := range ex.order {
		if p == r || within(r, p) {
			root = r
			break
		}
	}
	if root == "" {
		return fmt.Errorf("extracting %s: %w: not under a synced folder", p, ErrOutsideTree)
	}
	dir, rel := root, "."
	if p != root {
		rel = strings.TrimPrefix(p, root+"/")
	} else if hdr.Typeflag != tar.TypeDir {
		// The root is a single synced file, such as a host build's output:
		// it is written by name in its folder, and nothing else there.
		dir, rel = path.Dir(root), path.Base(root)
	}
	rt, err := ex.open(dir)
	if err != nil {
		return err
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		err = extractDir(rt, rel, hdr)
	case tar.TypeReg:
		var n int64
		n, err = extractFile(rt, rel, hdr, content)
		ex.stats.Bytes += n
	case tar.TypeSymlink:
		if !linkStaysWithin(root, p, hdr.Linkname) {
			return fmt.Errorf("extracting link %s -> %s: %w: the target leaves %s", p, hdr.Linkname, ErrOutsideTree, root)
		}
		err = extractLink(rt, rel, hdr)
	default:
		return fmt.Errorf("extracting %s: tar type %q is not supported", p, hdr.Typeflag)
	}
	if err != nil {
		return fmt.Errorf("extracting %s: %w", p, err)
	}
	ex.stats.Entries++
	return nil
}

// open returns the os.Root of a target folder, or of a target file's folder,
// creating the folder when it is missing.
func (ex *extractor) open(root string) (*os.Root, error) {
	if rt, ok := ex.roots[root]; ok {
		return rt, nil
	}
	info, err := os.Lstat(root)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("creating target %s: %w", root, err)
		}
		info, err = os.Lstat(root)
	}
	if err != nil {
		return nil, fmt.Errorf("checking target %s: %w", root, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("target %s is not a folder (%s): %w", root, info.Mode().Type(), ErrOutsideTree)
	}
	rt, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("opening target %s: %w", root, err)
	}
	ex.roots[root] = rt
	return rt, nil
}

func extractDir(rt *os.Root, rel string, hdr *tar.Header) error {
	info, err := rt.Lstat(rel)
	switch {
	case err == nil && !info.IsDir():
		if err := rt.RemoveAll(rel); err != nil {
			return err
		}
		fallthrough
	case errors.Is(err, fs.ErrNotExist):
		if err := rt.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return err
		}
		if err := rt.Mkdir(rel, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case err != nil:
		return err
	}
	if err := rt.Chown(rel, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if err := rt.Chmod(rel, tarMode(hdr)); err != nil {
		return err
	}
	return rt.Chtimes(rel, hdr.ModTime, hdr.ModTime)
}

func extractFile(rt *os.Root, rel string, hdr *tar.Header, content io.Reader) (int64, error) {
	if err := rt.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return 0, err
	}
	// A new file is written in place, which saves a rename. O_EXCL fails
	// on any existing path, a link included, so nothing is followed.
	name := rel
	f, err := rt.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if name, err = tempName(rel); err != nil {
			return 0, err
		}
		f, err = rt.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, content)
	if err == nil {
		err = f.Chown(hdr.Uid, hdr.Gid)
	}
	if err == nil {
		// After the chown, which clears setuid and setgid bits.
		err = f.Chmod(tarMode(hdr))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rt.Chtimes(name, hdr.ModTime, hdr.ModTime)
	}
	if err == nil && name != rel {
		err = replace(rt, name, rel)
	}
	if err != nil {
		// A new file cut short stays, as the engine leaves one: the retry
		// that follows replaces it.
		if name != rel {
			_ = rt.Remove(name)
		}
		return n, err
	}
	return n, nil
}

func extractLink(rt *os.Root, rel string, hdr *tar.Header) error {
	if err := rt.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return err
	}
	tmp, err := tempName(rel)
	if err != nil {
		return err
	}
	if err := rt.Symlink(hdr.Linkname, tmp); err != nil {
		return err
	}
	err = rt.Lchown(tmp, hdr.Uid, hdr.Gid)
	if err == nil {
		err = replace(rt, tmp, rel)
	}
	if err != nil {
		_ = rt.Remove(tmp)
	}
	return err
}

// replace renames tmp over rel, removing a folder there first: rename
// replaces a file or a link but not a folder.
func replace(rt *os.Root, tmp, rel string) error {
	if info, err := rt.Lstat(rel); err == nil && info.IsDir() {
		if err := rt.RemoveAll(rel); err != nil {
			return err
		}
	}
	return rt.Rename(tmp, rel)
}

// tempName returns a name next to rel for a file being written.
func tempName(rel string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return path.Join(path.Dir(rel), ".devd-"+hex.EncodeToString(b[:])+".tmp"), nil
}

// tarMode returns a header's permission bits with setuid, setgid and
// sticky, as an os.FileMode.
func tarMode(hdr *tar.Header) fs.FileMode {
	mode := fs.FileMode(hdr.Mode) & fs.ModePerm
	if hdr.Mode&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// StatLocal describes a local path as the engine's stat of a container
// path does: a final link is described itself, unless p ends with a slash,
// which follows it. A missing path gives an error wrapping
// engine.ErrNotFound.
func StatLocal(p string) (engine.PathStat, error) {
	follow := p != "/" && strings.HasSuffix(p, "/")
	clean := filepath.Clean(p)
	var info fs.FileInfo
	var err error
	if follow {
		info, err = os.Stat(clean)
	} else {
		info, err = os.Lstat(clean)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return engine.PathStat{}, fmt.Errorf("statting %s: %w", clean, engine.ErrNotFound)
	}
	if err != nil {
		return engine.PathStat{}, fmt.Errorf("statting %s: %w", clean, err)
	}
	st := engine.PathStat{Name: info.Name(), Size: info.Size(), Mode: info.Mode()}
	if info.Mode()&fs.ModeSymlink != 0 {
		if resolved, err := filepath.EvalSymlinks(clean); err == nil {
			st.LinkTarget = resolved
		} else {
			return engine.PathStat{}, fmt.Errorf("resolving link %s: %w", clean, err)
		}
	}
	return st, nil
}

// ArchiveLocal writes a local path as a tar stream whose entries are named
// from its base name, as the engine's archive API does for a container
// path: the folder itself first, then what it contains. Links are archived
// as links, except a final link when p ends with a slash. A missing path
// gives an error wrapping engine.ErrNotFound, before anything is written.
func ArchiveLocal(w io.Writer, p string) error {
	follow := p != "/" && strings.HasSuffix(p, "/")
	clean := filepath.Clean(p)
	src := clean
	if follow {
		resolved, err := filepath.EvalSymlinks(clean)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("archiving %s: %w", clean, engine.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("archiving %s: %w", clean, err)
		}
		src = resolved
	}
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("archiving %s: %w", clean, engine.ErrNotFound)
	}
	base := filepath.Base(clean)

	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(fp string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			if fp == src {
				return walkErr
			}
			// A path that vanished or cannot be read is left out, as a
			// reader of a changing folder expects.
			return nil
		}
		name := base
		if fp != src {
			name = base + "/" + filepath.ToSlash(strings.TrimPrefix(fp, src+string(filepath.Separator)))
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		return archiveEntry(tw, fp, name, info)
	})
	if err != nil {
		return fmt.Errorf("archiving %s: %w", clean, err)
	}
	return tw.Close()
}

func archiveEntry(tw *tar.Writer, fp, name string, info fs.FileInfo) error {
	hdr := &tar.Header{Name: name, ModTime: info.ModTime(), Mode: int64(info.Mode().Perm())}
	if info.Mode()&fs.ModeSetuid != 0 {
		hdr.Mode |= 0o4000
	}
	if info.Mode()&fs.ModeSetgid != 0 {
		hdr.Mode |= 0o2000
	}
	if info.Mode()&fs.ModeSticky != 0 {
		hdr.Mode |= 0o1000
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	}

	var f *os.File
	switch {
	case info.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
	case info.Mode()&fs.ModeSymlink != 0:
		link, err := os.Readlink(fp)
		if err != nil {
			return nil
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, link
	case info.Mode().IsRegular():
		var err error
		f, info, err = openPlanned(fp, nil)
		if err != nil {
			return nil
		}
		defer f.Close()
		hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
	default:
		hdr.Typeflag = tar.TypeFifo
		switch {
		case info.Mode()&fs.ModeCharDevice != 0:
			hdr.Typeflag = tar.TypeChar
		case info.Mode()&fs.ModeDevice != 0:
			hdr.Typeflag = tar.TypeBlock
		case info.Mode()&fs.ModeSocket != 0:
			// tar has no type for sockets; the engine leaves them out too.
			return nil
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if f == nil {
		return nil
	}
	src := &fileReader{f: f}
	n, err := io.CopyN(tw, src, hdr.Size)
	if errors.Is(err, io.EOF) {
		// The file shrank: pad it so the stream stays valid.
		_, err = io.CopyN(tw, zeros{}, hdr.Size-n)
	}
	return err
}
