package watch

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
)

// racyWindow is the age below which a folder's timestamps are not trusted. A
// folder that changes again within the same tick of the file system's clock
// keeps its timestamps. So a folder that changed this recently is listed
// again at the next scan, even when its state is unchanged. FAT stores
// modification times in 2 s ticks, the coarsest in common use.
const racyWindow = 2 * time.Second

// fileState is the part of a path's lstat result that a scan compares to
// tell whether the path changed. The change time also catches a content
// change that kept the size and restored the modification time, as
// "rsync -t" and "cp -p" do.
type fileState struct {
	mtime int64  // modification time, in nanoseconds since 1970
	ctime int64  // inode change time, in nanoseconds, or 0 where unknown
	size  int64  // size, which is the target's length for a symbolic link
	ino   uint64 // inode number, or 0 where unknown
	mode  fs.FileMode
}

func (s fileState) isDir() bool  { return s.mode.IsDir() }
func (s fileState) isLink() bool { return s.mode&fs.ModeSymlink != 0 }

// sameObject reports whether a and b describe the same file: same type and
// same inode. A path that fails this check was replaced.
func sameObject(a, b fileState) bool {
	return a.ino == b.ino && a.mode.Type() == b.mode.Type()
}

// entry is a path in the snapshot, named relative to its folder. Folder
// paths are not stored: the scanner builds each path from the folder it is
// reading, so every folder prefix is held once.
type entry struct {
	name   string
	state  fileState
	dir    *dirNode // the content of a folder, nil for other types
	target string   // the target of a symbolic link
}

// dirNode is the content of a folder in the snapshot.
type dirNode struct {
	entries []entry // sorted by name, without skipped paths

	// reread is set when the folder must be read at the next scan even if
	// its state did not change: it changed within racyWindow of the last
	// read, or the last read failed.
	reread bool
	// failed is set while reading the folder fails, so that the failure is
	// logged once.
	failed bool
}

// pollRoot is a path that is polled, with its snapshot. It may be a folder,
// a file, or missing.
type pollRoot struct {
	path  string
	found bool  // the path exists and is not skipped
	top   entry // the path itself; its name is unused
}

// scanner compares the file system with a snapshot, updates the snapshot
// and reports the paths that changed. Paths are reported in the order of the
// walk, folders before their content. A scanner serves one scan.
type scanner struct {
	skip func(path string, isDir bool) bool
	// push receives the changed paths. It is nil when taking a baseline.
	push func(path string)
	log  hclog.Logger
	// recent is the oldest timestamp, in nanoseconds, that is still within
	// racyWindow of the scan.
	recent int64

	lstats int // paths passed to lstat
	reads  int // folders read
}

func newScanner(skip func(string, bool) bool, push func(string), log hclog.Logger) *scanner {
	return &scanner{
		skip:   skip,
		push:   push,
		log:    log,
		recent: time.Now().Add(-racyWindow).UnixNano(),
	}
}

// scanRoot brings the snapshot of r up to date.
func (s *scanner) scanRoot(r *pollRoot) {
	st, ok := s.lstat(r.path)
	if ok && s.skip(r.path, st.isDir()) {
		ok = false
	}

	switch {
	case !ok && r.found:
		s.removed(r.path, &r.top)
		r.top, r.found = entry{}, false
	case !ok:
	case !r.found:
		r.top, r.found = s.added(r.path, st), true
	default:
		r.found = s.update(r.path, &r.top, st)
		if !r.found {
			r.top = entry{}
		}
	}
}

// added reports path, found with state st, and everything inside it when it
// is a folder, and returns its entry without a name.
func (s *scanner) added(path string, st fileState) entry {
	s.report(path)

	e := entry{state: st}
	switch {
	case st.isDir():
		e.dir = &dirNode{}
		s.read(path, e.dir, st)
	case st.isLink():
		e.target = s.readlink(path)
	}
	return e
}

// removed reports path and every path the snapshot holds under it.
func (s *scanner) removed(path string, e *entry) {
	s.report(path)
	if e.dir == nil {
		return
	}
	for i := range e.dir.entries {
		s.removed(join(path, e.dir.entries[i].name), &e.dir.entries[i])
	}
}

// update compares the entry e of path with the current state st, reports
// what changed and updates e. It returns false when path is now skipped and
// must be left out of the snapshot.
func (s *scanner) update(path string, e *entry, st fileState) bool {
	if !sameObject(e.state, st) {
		s.removed(path, e)
		if s.skip(path, st.isDir()) {
			return false
		}
		name := e.name
		*e = s.added(path, st)
		e.name = name
		return true
	}

	switch {
	case st.isDir():
		// A folder is reported for a change of its own mode only. Its
		// timestamps change with its entries, which are reported themselves,
		// and the consumer syncs a reported folder with all its content.
		if e.state.mode != st.mode {
			s.report(path)
		}
		changed := e.state != st
		e.state = st
		if changed || e.dir.reread {
			s.read(path, e.dir, st)
		} else {
			s.restat(path, e.dir)
		}
	case st.isLink():
		target := s.readlink(path)
		if e.state != st || e.target != target {
			s.report(path)
		}
		e.state, e.target = st, target
	default:
		if e.state != st {
			s.report(path)
		}
		e.state = st
	}
	return true
}

// read lists the folder at path, whose state is st, and merges the list
// with the snapshot n: it reports new and removed names and compares the
// others.
func (s *scanner) read(path string, n *dirNode, st fileState) {
	s.reads++
	list, err := os.ReadDir(path)
	if err != nil {
		n.reread = true
		if !isVanished(err) && !n.failed {
			n.failed = true
			s.log.Warn("reading folder failed, changes inside it are missed until it can be read",
				"path", path, "error", err)
		}
		return
	}
	n.failed = false
	n.reread = st.mtime >= s.recent || st.ctime >= s.recent

	// Both lists are sorted by name, so one pass merges them.
	old := n.entries
	merged := make([]entry, 0, len(list))
	i := 0
	for _, d := range list {
		name := d.Name()
		for i < len(old) && old[i].name < name {
			s.removed(join(path, old[i].name), &old[i])
			i++
		}

		p := join(path, name)
		if i < len(old) && old[i].name == name {
			e := old[i]
			i++
			if cur, ok := s.lstat(p); !ok {
				s.removed(p, &e)
			} else if s.update(p, &e, cur) {
				merged = append(merged, e)
			}
			continue
		}

		// The type from the folder listing avoids a lstat of skipped paths.
		if s.skip(p, d.IsDir()) {
			continue
		}
		cur, ok := s.lstat(p)
		if !ok || (cur.isDir() != d.IsDir() && s.skip(p, cur.isDir())) {
			continue
		}
		e := s.added(p, cur)
		e.name = name
		merged = append(merged, e)
	}
	for ; i < len(old); i++ {
		s.removed(join(path, old[i].name), &old[i])
	}
	n.entries = merged
}

// restat compares every entry of the unchanged folder at path with its
// current state, without listing the folder.
func (s *scanner) restat(path string, n *dirNode) {
	// Entries to drop get an empty name, which no real entry has.
	drop := false
	for i := range n.entries {
		e := &n.entries[i]
		p := join(path, e.name)
		cur, ok := s.lstat(p)
		if !ok {
			// The folder changed after its own lstat: list it next time.
			s.removed(p, e)
			e.name, drop, n.reread = "", true, true
			continue
		}
		if !s.update(p, e, cur) {
			e.name, drop = "", true
		}
	}
	if drop {
		n.entries = slices.DeleteFunc(n.entries, func(e entry) bool { return e.name == "" })
	}
}

// lstat returns the state of path. It returns false when path does not
// exist or cannot be inspected.
func (s *scanner) lstat(path string) (fileState, bool) {
	s.lstats++
	st, err := lstatState(path)
	if err != nil {
		if !isVanished(err) {
			s.log.Debug("inspecting path failed", "path", path, "error", err)
		}
		return fileState{}, false
	}
	return st, true
}

func (s *scanner) readlink(path string) string {
	target, err := os.Readlink(path)
	if err != nil && !isVanished(err) {
		s.log.Debug("reading symbolic link failed", "path", path, "error", err)
	}
	return target
}

func (s *scanner) report(path string) {
	if s.push != nil {
		s.push(path)
	}
}

// join returns dir/name. Unlike filepath.Join, it does not clean the result,
// which the scanner does not need because dir is clean and name is a single
// element.
func join(dir, name string) string {
	if len(dir) > 0 && os.IsPathSeparator(dir[len(dir)-1]) {
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}
