package sync

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	gosync "sync"
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
// or not a folder is rejected. An entry replaces a path of another type. An
// existing regular file is written over in place, and anything else that a
// file replaces is replaced through a temporary name (see extractFile). Owners, modes and modification times come
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
	ex.startWriters()
	defer ex.close()

	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ex.fail(fmt.Errorf("reading the archive: %w", err))
			break
		}
		if err := ex.entry(hdr, tr); err != nil {
			ex.fail(err)
		}
	}
	ex.stopWriters()
	return ex.stats, errors.Join(ex.errs...)
}

// Small files are written by a few writers at once. Writing a small file is
// mostly system calls, which the writers spread over the CPUs: extracting
// 2,026 small files into tmpfs on 2 CPUs took 117 ms with one writer and
// 65 ms with four. Files of a folder go to the same writer, in the archive's
// order.
const (
	extractWriters = 4
	// maxQueuedSize is the largest file that is read into memory and queued
	// for a writer. A larger one is streamed to the disk by Extract itself.
	maxQueuedSize = 64 << 10
	// writerQueue bounds the files queued for one writer, so that at most
	// extractWriters * writerQueue * maxQueuedSize bytes are held.
	writerQueue = 16
)

// fileJob is a small file queued for a writer.
type fileJob struct {
	parent *os.Root
	name   string
	p      string // the container path, for errors
	hdr    *tar.Header
	data   []byte
}

type extractor struct {
	order   []string
	roots   map[string]*os.Root
	folders map[string]*os.Root // folders below the roots, by local path

	queues  []chan fileJob
	writers gosync.WaitGroup
	// queued contains the paths handed to writers since they last
	// finished their queues. An entry for one of them waits for the
	// writers first.
	queued map[string]bool

	mu    gosync.Mutex // guards stats and errs while writers run
	stats ExtractStats
	errs  []error
}

func (ex *extractor) startWriters() {
	ex.queued = map[string]bool{}
	for range extractWriters {
		q := make(chan fileJob, writerQueue)
		ex.queues = append(ex.queues, q)
		ex.writers.Add(1)
		go func() {
			defer ex.writers.Done()
			for job := range q {
				n, err := extractFile(job.parent, job.name, job.hdr, bytes.NewReader(job.data))
				ex.done(job.p, n, err)
			}
		}()
	}
}

// stopWriters waits until the writers have written every queued file.
func (ex *extractor) stopWriters() {
	for _, q := range ex.queues {
		close(q)
	}
	ex.writers.Wait()
	ex.queues = nil
	clear(ex.queued)
}

// drain waits for the queued files and starts the writers afresh, before an
// entry that may touch a path a writer works on, and before open folders
// are closed.
func (ex *extractor) drain() {
	if len(ex.queued) == 0 {
		return
	}
	ex.stopWriters()
	ex.startWriters()
}

// queue hands a small file to the writer of its folder.
func (ex *extractor) queue(job fileJob, folder string) {
	h := fnv.New32a()
	h.Write([]byte(folder))
	ex.queued[job.p] = true
	ex.queues[h.Sum32()%uint32(len(ex.queues))] <- job
}

// done counts a written entry, or records why it failed.
func (ex *extractor) done(p string, n int64, err error) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	ex.stats.Bytes += n
	if err != nil {
		ex.errs = append(ex.errs, fmt.Errorf("extracting %s: %w", p, err))
		return
	}
	ex.stats.Entries++
}

func (ex *extractor) fail(err error) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	ex.errs = append(ex.errs, err)
}

func (ex *extractor) close() {
	if ex.queues != nil {
		ex.stopWriters()
	}
	ex.closeFolders()
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
	// Only an archive that contains a file and a folder of the same name
	// makes a folder where a writer may still write that file, so the
	// writers finish first.
	for a := path.Dir(p); a != "/" && len(ex.queued) > 0; a = path.Dir(a) {
		if ex.queued[a] {
			ex.drain()
		}
	}
	// Each operation then names one path component in an open folder,
	// instead of walking the path from the root again.
	parent, err := ex.folder(rt, dir, path.Dir(rel))
	if err != nil {
		return fmt.Errorf("extracting %s: %w", p, err)
	}
	name := path.Base(rel)

	if hdr.Typeflag == tar.TypeReg && hdr.Size <= maxQueuedSize && !ex.queued[p] {
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(content, data); err != nil {
			return fmt.Errorf("reading %s from the archive: %w", p, err)
		}
		ex.queue(fileJob{parent: parent, name: name, p: p, hdr: hdr, data: data}, path.Dir(p))
		return nil
	}
	// Anything else is written here, once no writer works on the path,
	// because it could replace what a writer is writing.
	if hdr.Typeflag != tar.TypeDir || ex.queued[p] {
		ex.drain()
	}

	var n int64
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = extractDir(parent, name, hdr)
	case tar.TypeReg:
		n, err = extractFile(parent, name, hdr, content)
	case tar.TypeSymlink:
		if !linkStaysWithin(root, p, hdr.Linkname) {
			return fmt.Errorf("extracting link %s -> %s: %w: the target leaves %s", p, hdr.Linkname, ErrOutsideTree, root)
		}
		err = extractLink(parent, name, hdr)
	default:
		return fmt.Errorf("extracting %s: tar type %q is not supported", p, hdr.Typeflag)
	}
	ex.done(p, n, err)
	return nil
}

// maxOpenFolders bounds the folders one extraction keeps open.
const maxOpenFolders = 256

// folder returns the os.Root of the folder rel in rt, the root opened at
// dir, creating it when it is missing. Folders are kept open for the next
// entries, which tar streams group by folder.
func (ex *extractor) folder(rt *os.Root, dir, rel string) (*os.Root, error) {
	if rel == "." {
		return rt, nil
	}
	key := dir + "/" + rel
	if sub, ok := ex.folders[key]; ok {
		return sub, nil
	}
	if err := rt.MkdirAll(rel, 0o755); err != nil {
		return nil, err
	}
	sub, err := rt.OpenRoot(rel)
	if err != nil {
		return nil, err
	}
	if len(ex.folders) >= maxOpenFolders {
		// The writers may still use them.
		ex.drain()
		ex.closeFolders()
	}
	if ex.folders == nil {
		ex.folders = make(map[string]*os.Root)
	}
	ex.folders[key] = sub
	return sub, nil
}

func (ex *extractor) closeFolders() {
	for key, sub := range ex.folders {
		sub.Close()
		delete(ex.folders, key)
	}
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
	// A new file is written in place, which saves a rename. O_EXCL fails
	// on any existing path, a link included, so nothing is followed.
	f, err := rt.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		n, err := fillFile(f, hdr, content)
		if err == nil {
			err = rt.Chtimes(rel, hdr.ModTime, hdr.ModTime)
		}
		if err != nil {
			// A new file cut short (a full disk) is removed, so that no
			// service reads a part of it and its space is free again. The
			// retry that follows writes it whole.
			_ = rt.Remove(rel)
		}
		return n, err
	}
	if !errors.Is(err, fs.ErrExist) {
		return 0, err
	}

	// An existing file is written over in place, as many editors save on
	// the host. It keeps its inode, so a watcher in the container that
	// follows the file (node --watch) gets an event for every change, and
	// writing costs less than creating a file.
	if f := openExisting(rt, rel, hdr); f != nil {
		// The space for the new content is reserved first, and the file is
		// cut to its new length last, so a full disk leaves the old content.
		if err := reserve(f, hdr.Size); err != nil {
			f.Close()
			return 0, err
		}
		n, err := io.Copy(f, content)
		if err == nil {
			err = f.Truncate(n)
		}
		if err = finishFile(f, hdr, err); err == nil {
			err = rt.Chtimes(rel, hdr.ModTime, hdr.ModTime)
		}
		return n, err
	}

	// Anything else (a program, a script, a library, a file with other
	// links, a folder or a link) is replaced by a new file, written to a
	// temporary name in its folder and renamed over it.
	tmp, err := tempName(rel)
	if err != nil {
		return 0, err
	}
	f, err = rt.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := fillFile(f, hdr, content)
	if err == nil {
		err = rt.Chtimes(tmp, hdr.ModTime, hdr.ModTime)
	}
	if err == nil {
		err = replace(rt, tmp, rel)
	}
	if err != nil {
		_ = rt.Remove(tmp)
	}
	return n, err
}

// openExisting opens rel for writing when it can be written over in place,
// and returns nil otherwise. It must be a regular file with no other link,
// because writing in place would change another link's content too. It must
// not be a program, a script or a library: a file with an execute bit in the
// old or the new mode, a script by name or first line, a library by name. A
// running program cannot be opened for writing (ETXTBSY), a shell reads a
// running script as it goes, and a process that mapped a library would see
// it change under it. The path is checked before it is opened, so that a
// device or a pipe is never opened, and again after, on the open file.
func openExisting(rt *os.Root, rel string, hdr *tar.Header) *os.File {
	if hdr.Mode&0o111 != 0 || isLibrary(path.Base(rel)) || isScript(path.Base(rel)) {
		return nil
	}
	info, err := rt.Lstat(rel)
	if err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 != 0 {
		return nil
	}
	f, err := rt.OpenFile(rel, os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	info, err = f.Stat()
	if err == nil && info.Mode().IsRegular() && !startsWithShebang(f) {
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink == 1 {
			return f
		}
	}
	f.Close()
	return nil
}

// startsWithShebang reports whether f starts with "#!", as a script does
// that a shell may run even without an execute bit (sh script).
func startsWithShebang(f *os.File) bool {
	var head [2]byte
	n, _ := f.ReadAt(head[:], 0)
	return n == 2 && string(head[:]) == "#!"
}

// isLibrary reports whether a file name is that of a shared library or a
// Node.js native addon, which processes map into memory: lib.so, lib.so.1,
// addon.node, lib.dylib.
func isLibrary(name string) bool {
	if strings.HasSuffix(name, ".node") || strings.HasSuffix(name, ".dylib") || strings.HasSuffix(name, ".so") {
		return true
	}
	return strings.Contains(name, ".so.")
}

// isScript reports whether a file name is that of a shell script, which a
// shell reads as it runs: run.sh, run.bash.
func isScript(name string) bool {
	for _, ext := range []string{".sh", ".bash", ".zsh", ".ksh"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// fillFile writes a tar entry's content into f, gives it the entry's owner
// and mode, and closes it.
func fillFile(f *os.File, hdr *tar.Header, content io.Reader) (int64, error) {
	n, err := io.Copy(f, content)
	return n, finishFile(f, hdr, err)
}

// finishFile gives f, whose content was written with the error err, the
// entry's owner and mode unless err is set, and closes it.
func finishFile(f *os.File, hdr *tar.Header, err error) error {
	if err == nil {
		err = f.Chown(hdr.Uid, hdr.Gid)
	}
	if err == nil {
		err = f.Chmod(tarMode(hdr))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func extractLink(rt *os.Root, rel string, hdr *tar.Header) error {
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

// tarMode returns a header's permission bits as an os.FileMode. Setuid,
// setgid and sticky bits are dropped, as WriteTar drops them: a file that
// devd writes as root must not run as root.
func tarMode(hdr *tar.Header) fs.FileMode {
	return fs.FileMode(hdr.Mode) & fs.ModePerm
}

// openIn opens the os.Root that confines reads and deletes of p, a path
// of the sync root root (a folder, or a single synced file), and returns p
// relative to it. A root that is a link is refused: the container placed
// it, and following it could lead anywhere.
func openIn(root, p string) (*os.Root, string, error) {
	clean := path.Clean(p)
	if clean != root && !within(root, clean) {
		return nil, "", fmt.Errorf("%s: %w: not under %s", clean, ErrOutsideTree, root)
	}
	info, err := os.Lstat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%s: %w", clean, engine.ErrNotFound)
	}
	if err != nil {
		return nil, "", err
	}
	dir, rel := root, "."
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		return nil, "", fmt.Errorf("target %s is a link in the container: %w", root, ErrOutsideTree)
	case clean == root && !info.IsDir():
		dir, rel = path.Dir(root), path.Base(root)
	case !info.IsDir():
		// Nothing lies under a file.
		return nil, "", fmt.Errorf("%s: %w", clean, engine.ErrNotFound)
	case clean != root:
		rel = strings.TrimPrefix(clean, root+"/")
	}
	rt, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}
	return rt, rel, nil
}

// notInTree reports whether err means that a path is not in the tree: it is
// missing, one of its folders is a file, or a link leads it out of the root.
func notInTree(err error) bool {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
		return true
	}
	// os.Root reports a path that a link leads out of the root with an
	// error of its own, which has no exported value.
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes")
}

// StatLocal describes p, a path of the sync root root, as the engine's stat
// of a container path does: a final link is described itself, unless p ends
// with a slash, which follows it within the root. A path that is missing, or
// that a link leads out of the root, gives an error wrapping
// engine.ErrNotFound. A link's LinkTarget is its text, not resolved.
func StatLocal(root, p string) (engine.PathStat, error) {
	follow := p != "/" && strings.HasSuffix(p, "/")
	rt, rel, err := openIn(root, p)
	if err != nil {
		return engine.PathStat{}, fmt.Errorf("statting %s: %w", p, err)
	}
	defer rt.Close()
	var info fs.FileInfo
	if follow {
		info, err = rt.Stat(rel)
	} else {
		info, err = rt.Lstat(rel)
	}
	if notInTree(err) {
		return engine.PathStat{}, fmt.Errorf("statting %s: %w", p, engine.ErrNotFound)
	}
	if err != nil {
		return engine.PathStat{}, fmt.Errorf("statting %s: %w", p, err)
	}
	st := engine.PathStat{Name: info.Name(), Size: info.Size(), Mode: info.Mode()}
	if info.Mode()&fs.ModeSymlink != 0 {
		st.LinkTarget, _ = rt.Readlink(rel)
	}
	return st, nil
}

// ArchiveLocal writes p, a path of the sync root root, as a tar stream whose
// entries are named from p's base name, as the engine's archive API does for
// a container path: the folder itself first, then what it contains. Links
// are archived as links, except a final link when p ends with a slash,
// which is followed within the root. Nothing outside the root is read. A
// missing path gives an error wrapping engine.ErrNotFound, before anything
// is written.
func ArchiveLocal(w io.Writer, root, p string) error {
	rt, rel, err := openIn(root, p)
	if err != nil {
		return fmt.Errorf("archiving %s: %w", p, err)
	}
	defer rt.Close()
	follow := p != "/" && strings.HasSuffix(p, "/")
	var top fs.FileInfo
	if follow {
		top, err = rt.Stat(rel)
	} else {
		top, err = rt.Lstat(rel)
	}
	if notInTree(err) {
		return fmt.Errorf("archiving %s: %w", p, engine.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("archiving %s: %w", p, err)
	}
	base := path.Base(path.Clean(p))

	tw := tar.NewWriter(w)
	if !top.IsDir() {
		if err := archiveEntry(tw, rt, rel, base, top); err != nil {
			return fmt.Errorf("archiving %s: %w", p, err)
		}
		return tw.Close()
	}
	// fs.WalkDir stats its start, following a final link as p/ requests,
	// and does not follow links below it.
	err = fs.WalkDir(rt.FS(), rel, func(fp string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			if fp == rel {
				return walkErr
			}
			// A path that vanished or cannot be read is left out, as a
			// reader of a changing folder expects.
			return nil
		}
		name := base
		if fp != rel {
			name = base + "/" + strings.TrimPrefix(fp, rel+"/")
			if rel == "." {
				name = base + "/" + fp
			}
		}
		info := top
		if fp != rel {
			var err error
			if info, err = rt.Lstat(fp); err != nil {
				return nil
			}
		}
		return archiveEntry(tw, rt, fp, name, info)
	})
	if err != nil {
		return fmt.Errorf("archiving %s: %w", p, err)
	}
	return tw.Close()
}

func archiveEntry(tw *tar.Writer, rt *os.Root, rel, name string, info fs.FileInfo) error {
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
		link, err := rt.Readlink(rel)
		if err != nil {
			return nil
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, link
	case info.Mode().IsRegular():
		var err error
		f, err = rt.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil
		}
		defer f.Close()
		now, err := f.Stat()
		if err != nil || !now.Mode().IsRegular() {
			return nil
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, now.Size()
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

// RemoveLocal removes paths of the sync root root, each strictly under it,
// without following a link out of it: a path that a link leads out of the
// root is not in the tree, so there is nothing to remove. A path already
// gone is no error either.
func RemoveLocal(root string, paths []string) error {
	for _, p := range paths {
		if path.Clean(p) != p || p == root || !within(root, p) {
			return fmt.Errorf("removing %q: %w: not a clean path strictly under %s", p, ErrOutsideTree, root)
		}
	}
	var errs []error
	for _, p := range paths {
		rt, rel, err := openIn(root, p)
		if errors.Is(err, engine.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", p, err))
			continue
		}
		err = rt.RemoveAll(rel)
		rt.Close()
		if err != nil && !notInTree(err) {
			errs = append(errs, fmt.Errorf("removing %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
