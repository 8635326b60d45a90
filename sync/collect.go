package sync

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// Change is one host path that may differ from the container: created,
// written, removed or renamed. Which one is decided by lstat, not by the
// event that reported it.
type Change struct {
	Tree     *Tree
	HostPath string
}

// Entry is one tar entry: a folder, a regular file or a symlink, as lstat
// saw it on the host.
type Entry struct {
	HostPath      string
	ContainerPath string
	Info          fs.FileInfo
	LinkTarget    string // symlinks only, with forward slashes
}

// Collect lstats each change and plans the batch: the entries to copy,
// ordered so that every folder comes before what it holds, and the container
// paths to delete, with paths under another delete left out.
//
//   - A missing host path is deleted in the container, unless Skip matches
//     it as a file or as a folder. The root of a tree is never deleted: a
//     source folder that disappears (unmounted, renamed) must not wipe the
//     target.
//   - A folder is copied with everything under it that Skip keeps.
//   - A regular file is copied.
//   - A symlink is copied as a link when its target is relative and stays
//     inside HostRoot, and skipped with a warning otherwise. Links are never
//     followed, so link loops cannot hang the walk.
//   - Sockets, fifos and devices are skipped.
//
// Each entry's parent folders below the tree's root are added too, so that
// folders the batch creates get the owner and host mode, not root and 0755.
//
// Skipped lists host paths left out for a reason the user may care about
// (links, special files); ignored paths are not listed. err joins the
// problems of single changes (a path outside its tree, an unreadable
// folder); the entries and deletes are still valid without them.
func Collect(changes []Change, log hclog.Logger) (entries []Entry, deletes []string, skipped []string, err error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	p := planner{log: log, entries: map[string]Entry{}, deletes: map[string]bool{}}
	for _, ch := range changes {
		p.addChange(ch)
	}

	for _, e := range p.entries {
		entries = append(entries, e)
	}
	// A folder's path is a prefix of its children's paths, so it sorts first.
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.ContainerPath, b.ContainerPath) })
	return entries, pruneNested(p.deletes), p.skipped, errors.Join(p.errs...)
}

// planner accumulates one batch. Entries and deletes are keyed by container
// path so overlapping changes are planned once.
type planner struct {
	log     hclog.Logger
	entries map[string]Entry
	deletes map[string]bool
	skipped []string
	errs    []error
}

func (p *planner) addChange(ch Change) {
	if ch.Tree == nil {
		p.errs = append(p.errs, fmt.Errorf("planning %s: no tree", ch.HostPath))
		return
	}
	t := ch.Tree
	root := filepath.Clean(t.HostRoot)
	host := filepath.Clean(ch.HostPath)
	target, err := t.ContainerPath(host)
	if err != nil {
		p.errs = append(p.errs, err)
		return
	}
	if host != root && p.ignoredParent(t, root, host) {
		return
	}

	info, err := os.Lstat(host)
	if isGone(err) {
		p.addDelete(t, root, host, target)
		return
	}
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("planning %s: %w", host, err))
		return
	}
	if host != root && t.Skip != nil && t.Skip(host, info.IsDir()) {
		return
	}
	if !p.addParents(t, root, host) {
		return
	}
	if info.IsDir() {
		p.walk(t, host)
		return
	}
	p.addPath(t, host, target, info)
}

// ignoredParent reports whether a folder between the root and host is
// skipped, so that nothing under an ignored folder (node_modules) is synced
// whatever the watcher reports.
func (p *planner) ignoredParent(t *Tree, root, host string) bool {
	if t.Skip == nil {
		return false
	}
	for dir := filepath.Dir(host); dir != root && hostWithin(root, dir); dir = filepath.Dir(dir) {
		if t.Skip(dir, true) {
			p.log.Trace("ignoring path under ignored folder", "path", host, "folder", dir)
			return true
		}
	}
	return false
}

func (p *planner) addDelete(t *Tree, root, host, target string) {
	if t.Skip != nil && (t.Skip(host, false) || t.Skip(host, true)) {
		return
	}
	if host == root {
		p.log.Warn("source folder is gone, leaving the container copy in place", "path", host, "container_path", target)
		p.skipped = append(p.skipped, host)
		return
	}
	p.deletes[target] = true
}

// addParents adds the folders between the root and host. It returns false
// when one of them is not a folder any more, because host was then reached
// through a symlink or is gone, and a later change syncs what replaced it.
func (p *planner) addParents(t *Tree, root, host string) bool {
	for dir := filepath.Dir(host); dir != root && hostWithin(root, dir); dir = filepath.Dir(dir) {
		info, err := os.Lstat(dir)
		if err != nil || !info.IsDir() {
			p.log.Debug("skipping path whose parent is not a folder", "path", host, "parent", dir)
			return false
		}
		target, err := t.ContainerPath(dir)
		if err != nil {
			p.errs = append(p.errs, err)
			return false
		}
		p.entries[target] = Entry{HostPath: dir, ContainerPath: target, Info: info}
	}
	return true
}

// walk adds a folder and what it holds. WalkDir does not follow symlinks.
func (p *planner) walk(t *Tree, dir string) {
	err := filepath.WalkDir(dir, func(host string, d fs.DirEntry, err error) error {
		if err != nil {
			if !isGone(err) {
				p.errs = append(p.errs, fmt.Errorf("walking %s: %w", host, err))
			}
			return nil
		}
		if host != dir && t.Skip != nil && t.Skip(host, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if isGone(err) {
			return nil
		}
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("walking %s: %w", host, err))
			return nil
		}
		target, err := t.ContainerPath(host)
		if err != nil {
			p.errs = append(p.errs, err)
			return nil
		}
		p.addPath(t, host, target, info)
		return nil
	})
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("walking %s: %w", dir, err))
	}
}

// addPath adds one lstat-ed path by its type.
func (p *planner) addPath(t *Tree, host, target string, info fs.FileInfo) {
	mode := info.Mode()
	switch {
	case mode.IsDir(), mode.IsRegular():
		p.entries[target] = Entry{HostPath: host, ContainerPath: target, Info: info}
	case mode&fs.ModeSymlink != 0:
		p.addLink(t, host, target, info)
	default:
		p.log.Debug("skipping special file", "path", host, "mode", mode.String())
		p.skipped = append(p.skipped, host)
	}
}

// addLink keeps a link whose target stays in the tree, unchanged. An
// absolute target names a host path, which means something else in the
// container, so it is skipped even when it points into the tree.
func (p *planner) addLink(t *Tree, host, target string, info fs.FileInfo) {
	link, err := os.Readlink(host)
	if isGone(err) {
		return
	}
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("reading link %s: %w", host, err))
		return
	}
	if filepath.IsAbs(link) {
		p.log.Warn("skipping symlink with an absolute target", "path", host, "target", link)
		p.skipped = append(p.skipped, host)
		return
	}
	resolved := filepath.Join(filepath.Dir(host), link)
	if !hostWithin(filepath.Clean(t.HostRoot), resolved) {
		p.log.Warn("skipping symlink that points outside the synced folder", "path", host, "target", link)
		p.skipped = append(p.skipped, host)
		return
	}
	p.entries[target] = Entry{HostPath: host, ContainerPath: target, Info: info, LinkTarget: filepath.ToSlash(link)}
}

// isGone reports an error that means the path no longer exists, including
// a parent that became a file.
func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// pruneNested sorts the container paths and drops those under another one:
// removing the folder removes them.
func pruneNested(set map[string]bool) []string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(set)) {
		if !hasAncestorIn(set, p) {
			out = append(out, p)
		}
	}
	return out
}

func hasAncestorIn(set map[string]bool, p string) bool {
	for dir := path.Dir(p); dir != p; p, dir = dir, path.Dir(dir) {
		if set[dir] {
			return true
		}
	}
	return false
}
