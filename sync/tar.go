package sync

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// WriteTar writes entries, in order, as a tar stream meant to be extracted
// at "/" in the container: names are the container paths without the leading
// slash, so target folders need not exist.
//
// Modes follow the host with setuid, setgid and sticky bits cleared. owner
// sets every entry's user and group, and modification times come from the
// host. Files are streamed from disk, never held in memory whole.
//
// Every entry is checked before it is written: its container path must be
// clean and under its tree's ContainerRoot, and a link's target must stay
// under it too. An entry that fails is left out, with an error wrapping
// ErrOutsideTree, and the others are still written.
//
// A file's type and size are read again when it is opened. A file gone since
// Collect (an editor's temporary file) is left out. A file that shrinks while
// it is read is padded with zeros to keep the stream valid, and the change
// that shrank it syncs it again.
//
// The stream is complete whenever w works. The returned error joins the files
// that could not be read, which were left out, with a failure of w.
func WriteTar(w io.Writer, entries []Entry, owner Owner) error {
	stats, err := writeTar(w, entries, owner)
	return errors.Join(errors.Join(stats.errs...), err)
}

// checkEntry rejects an entry that would be written outside its tree's
// container root, whichever code built it.
func checkEntry(e Entry) error {
	if e.Tree == nil {
		return fmt.Errorf("writing %s: %w: the entry has no tree", e.ContainerPath, ErrOutsideTree)
	}
	root := path.Clean(e.Tree.ContainerRoot)
	p := e.ContainerPath
	if !path.IsAbs(root) || !path.IsAbs(p) || path.Clean(p) != p || !within(root, p) {
		return fmt.Errorf("writing %s: %w: not a clean path under %s", p, ErrOutsideTree, root)
	}
	if e.Info.Mode()&fs.ModeSymlink != 0 && !linkStaysWithin(root, p, e.LinkTarget) {
		return fmt.Errorf("writing link %s -> %s: %w: the target leaves %s", p, e.LinkTarget, ErrOutsideTree, root)
	}
	return nil
}

// tarStats reports what writeTar put in the stream.
type tarStats struct {
	entries int     // entries written
	bytes   int64   // file content written
	errs    []error // files left out because they could not be read
}

// writeTar is WriteTar with its counts. Its error means that w failed and
// the stream is broken. The files in stats.errs never break the stream.
func writeTar(w io.Writer, entries []Entry, owner Owner) (tarStats, error) {
	return writeTarProgress(w, entries, owner, nil)
}

// writeTarProgress is writeTar that calls progress, when it is not nil,
// before each entry and at the end with how many entries were handled
// (written or left out) and the file content written so far.
func writeTarProgress(w io.Writer, entries []Entry, owner Owner, progress func(handled int, bytes int64)) (tarStats, error) {
	var stats tarStats
	tw := tar.NewWriter(w)
	for i, e := range entries {
		if progress != nil && i > 0 {
			progress(i, stats.bytes)
		}
		if err := checkEntry(e); err != nil {
			stats.errs = append(stats.errs, err)
			continue
		}
		name := strings.TrimPrefix(e.ContainerPath, "/")
		if name == "" {
			// The container's root folder is never written.
			continue
		}
		mode := e.Info.Mode()
		var err error
		switch {
		case mode.IsDir():
			err = tw.WriteHeader(header(name+"/", tar.TypeDir, e.Info, owner))
		case mode&fs.ModeSymlink != 0:
			hdr := header(name, tar.TypeSymlink, e.Info, owner)
			hdr.Linkname = e.LinkTarget
			err = tw.WriteHeader(hdr)
		case mode.IsRegular():
			var n int64
			var skip bool
			n, skip, err = writeFile(tw, name, e, owner, &stats)
			if skip {
				continue
			}
			stats.bytes += n
		default:
			continue
		}
		if err != nil {
			return stats, fmt.Errorf("writing %s to the archive: %w", e.HostPath, err)
		}
		stats.entries++
	}
	if err := tw.Close(); err != nil {
		return stats, fmt.Errorf("finishing the archive: %w", err)
	}
	if progress != nil {
		progress(len(entries), stats.bytes)
	}
	return stats, nil
}

// writeFile streams one regular file. skip reports a file left out because
// it is gone, is no longer the file that was planned, or cannot be read. err
// is a failure of the stream.
func writeFile(tw *tar.Writer, name string, e Entry, owner Owner, stats *tarStats) (n int64, skip bool, err error) {
	f, info, err := openPlanned(e.HostPath, e.Info)
	if err != nil {
		if !isGone(err) {
			stats.errs = append(stats.errs, fmt.Errorf("reading %s: %w", e.HostPath, err))
		}
		return 0, true, nil
	}
	defer f.Close()

	hdr := header(name, tar.TypeReg, info, owner)
	hdr.Size = info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, false, err
	}
	src := &fileReader{f: f}
	n, err = io.CopyN(tw, src, hdr.Size)
	if !errors.Is(err, io.EOF) {
		// nil, or a failure of the stream.
		return n, false, err
	}

	// The file shrank or could not be read to the end: fill the announced
	// size so the entries after it stay readable.
	if src.err != nil {
		stats.errs = append(stats.errs, fmt.Errorf("reading %s: %w", e.HostPath, src.err))
	}
	if _, err := io.CopyN(tw, zeros{}, hdr.Size-n); err != nil {
		return n, false, err
	}
	return n, false, nil
}

// errReplaced means a path no longer leads to the file that was planned.
// It counts as gone: the change that replaced the file syncs it again.
var errReplaced = fmt.Errorf("replaced since it was planned: %w", fs.ErrNotExist)

// openPlanned opens the regular file that lstat described as planned, and
// returns it with its current metadata. The path may have changed since:
// a final symlink is not followed and a fifo does not block the open. A
// path that now leads to another file gives errReplaced, for example when
// one of its folders became a link to outside the tree.
func openPlanned(name string, planned fs.FileInfo) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() || (planned != nil && !os.SameFile(planned, info)) {
		f.Close()
		return nil, nil, errReplaced
	}
	return f, info, nil
}

// fileReader ends a file early at its first read error, and keeps the error,
// so that io.CopyN's error only ever means a failed write.
type fileReader struct {
	f   *os.File
	err error
}

func (r *fileReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
		return n, io.EOF
	}
	return n, err
}

// header builds a tar header from host metadata, keeping only the permission
// bits: setuid, setgid and sticky bits are not carried into containers.
func header(name string, typ byte, info fs.FileInfo, owner Owner) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     int64(info.Mode().Perm()),
		Uid:      owner.UID,
		Gid:      owner.GID,
		ModTime:  info.ModTime(),
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
