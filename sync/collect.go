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
	Tree          *Tree
	HostPath      string
	ContainerPath string
	Info          fs.FileInfo
	LinkTarget    string // symlinks only, with forward slashes

	// implicit marks a folder that is in the batch only because something
	// below it is: a parent of a changed path, or the tree's root. It is
	// written only where the container lacks a folder, so that existing
	// folders keep their owner and mode.
	implicit bool
}

// Delete is one container path to remove, strictly below its tree's
// ContainerRoot.
type Delete struct {
	Tree *Tree
	Path string

	// ignoredIf is set when Skip ignores the path as one type only: the
	// container's path is then left alone if it has that type.
	ignoredIf ignoredKind
}

// ignoredKind is the type of a gone host path that Skip ignores.
type ignoredKind uint8

const (
	ignoredNever ignoredKind = iota
	ignoredIfFile
	ignoredIfDir
)

// Plan is one batch planned from lstat: what to copy and what to delete.
type Plan struct {
	// Entries are ordered so that every folder comes before what it holds.
	Entries []Entry

	// Deletes are ordered by path, with paths under another delete left
	// out.
	Deletes []Delete

	// Skipped lists host paths left out for a reason the user may care
	// about (links, special files, unreadable folders); ignored paths are
	// not listed.
	Skipped []string

	// folders are the changed paths that are folders, whose whole content
	// was planned.
	folders []subtree
}

// Collect lstats each change and plans the batch.
//
//   - A missing host path is deleted in the container, unless Skip matches
//     it with the type the container has there (Apply stats the container's
//     path when Skip matches one type only), or one of its host parents is
//     now a file or a link (the copy of that parent replaces the old folder). The
//     root of a tree is never deleted: a source folder that disappears
//     (unmounted, renamed) must not wipe the target.
//   - A folder is copied with everything under it that Skip keeps. A folder
//     that cannot be read is left out with what it holds, and reported.
//   - A regular file is copied.
//   - A symlink is copied as a link when its target is relative and stays
//     inside HostRoot, and skipped with a warning otherwise. Links are never
//     followed, so link loops cannot hang the walk.
//   - Sockets, fifos and devices are skipped.
//
// Each entry's parent folders up to the tree's root are added as implicit
// entries, which Apply writes only where the container lacks them, so that
// new folders get the owner and host mode while existing ones keep theirs.
//
// The error joins the problems of single changes (a path outside its tree,
// an unreadable folder); the plan is still valid without them.
func Collect(changes []Change, log hclog.Logger) (Plan, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	p := planner{
		log:     log,
		entries: map[string]Entry{},
		deletes: map[string]Delete{},
		folders: map[string]subtree{},
		skipDir: map[treeDir]bool{},
		parents: map[treeDir]bool{},
	}
	for _, ch := range changes {
		p.addChange(ch)
	}

	var plan Plan
	for _, e := range p.entries {
		plan.Entries = append(plan.Entries, e)
	}
	// A folder's path is a prefix of its children's paths, so it sorts first.
	slices.SortFunc(plan.Entries, func(a, b Entry) int { return strings.Compare(a.ContainerPath, b.ContainerPath) })
	plan.Deletes = pruneNested(p.deletes)
	plan.Skipped = p.skipped
	for _, ctr := range slices.Sorted(maps.Keys(p.folders)) {
		plan.folders = append(plan.folders, p.folders[ctr])
	}
	return plan, errors.Join(p.errs...)
}

// planner accumulates one batch. Entries and deletes are keyed by container
// path so overlapping changes are planned once.
type planner struct {
	log     hclog.Logger
	entries map[string]Entry
	deletes map[string]Delete
	skipped []string
	folders map[string]subtree
	errs    []error

	// A checkout changes thousands of files in a few folders, so decisions
	// about a folder are kept for the other changes of the batch. skipDir
	// records whether Skip leaves a folder out, and parents whether a folder
	// and those above it were added as parents.
	skipDir map[treeDir]bool
	parents map[treeDir]bool
}

// treeDir is a host folder of a tree.
type treeDir struct {
	tree *Tree
	dir  string
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
		p.folders[target] = subtree{tree: t, host: host, ctr: target}
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
		key := treeDir{t, dir}
		skip, ok := p.skipDir[key]
		if !ok {
			skip = t.Skip(dir, true)
			p.skipDir[key] = skip
		}
		if skip {
			p.log.Trace("ignoring path under ignored folder", "path", host, "folder", dir)
			return true
		}
	}
	return false
}

func (p *planner) addDelete(t *Tree, root, host, target string) {
	var ignoredIf ignoredKind
	if t.Skip != nil {
		asFile, asDir := t.Skip(host, false), t.Skip(host, true)
		switch {
		case asFile && asDir:
			return
		case asFile:
			ignoredIf = ignoredIfFile
		case asDir:
			ignoredIf = ignoredIfDir
		}
	}
	if host == root {
		p.log.Warn("source folder is gone, leaving the container copy in place", "path", host, "container_path", target)
		p.skipped = append(p.skipped, host)
		return
	}
	for dir := filepath.Dir(host); dir != root && hostWithin(root, dir); dir = filepath.Dir(dir) {
		if info, err := os.Lstat(dir); err == nil && !info.IsDir() {
			// The folder became a file or a link: its own change replaces
			// the container's folder with everything in it, and rm would
			// fail on a path under a file.
			p.log.Trace("not deleting path under a replaced folder", "path", host, "parent", dir)
			return
		}
	}
	p.deletes[target] = Delete{Tree: t, Path: target, ignoredIf: ignoredIf}
}

// addParents adds the folders between the root and host, and the root when
// it is a folder, as implicit entries. It returns false when one of them is
// not a folder any more, because host was then reached through a symlink or
// is gone, and a later change syncs what replaced it.
func (p *planner) addParents(t *Tree, root, host string) bool {
	if host == root {
		return true
	}
	for dir := filepath.Dir(host); hostWithin(root, dir); dir = filepath.Dir(dir) {
		key := treeDir{t, dir}
		if p.parents[key] {
			// Added with the folders above it for an earlier change.
			break
		}
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
		if _, ok := p.entries[target]; !ok {
			p.entries[target] = Entry{Tree: t, HostPath: dir, ContainerPath: target, Info: info, implicit: true}
		}
		if dir == root {
			break
		}
	}
	for dir := filepath.Dir(host); hostWithin(root, dir) && !p.parents[treeDir{t, dir}]; dir = filepath.Dir(dir) {
		p.parents[treeDir{t, dir}] = true
		if dir == root {
			break
		}
	}
	return true
}

// walk adds a folder and what it holds. WalkDir does not follow symlinks.
func (p *planner) walk(t *Tree, dir string) {
	err := filepath.WalkDir(dir, func(host string, d fs.DirEntry, err error) error {
		if err != nil {
			if isGone(err) {
				return nil
			}
			p.errs = append(p.errs, fmt.Errorf("walking %s: %w", host, err))
			if d != nil && d.IsDir() {
				// The folder could not be listed: leave the container's
				// copy alone rather than give it the host's mode alone.
				p.dropEntry(t, host)
				p.skipped = append(p.skipped, host)
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

func (p *planner) dropEntry(t *Tree, host string) {
	if target, err := t.ContainerPath(host); err == nil {
		if e, ok := p.entries[target]; ok && !e.implicit {
			delete(p.entries, target)
		}
	}
}

// addPath adds one lstat-ed path by its type. The root of a folder tree is
// implicit: it is created when missing and otherwise keeps its owner and
// mode, which belong to the image.
func (p *planner) addPath(t *Tree, host, target string, info fs.FileInfo) {
	mode := info.Mode()
	switch {
	case mode.IsDir():
		implicit := host == filepath.Clean(t.HostRoot)
		if prev, ok := p.entries[target]; ok && !prev.implicit {
			implicit = false
		}
		p.entries[target] = Entry{Tree: t, HostPath: host, ContainerPath: target, Info: info, implicit: implicit}
	case mode.IsRegular():
		p.entries[target] = Entry{Tree: t, HostPath: host, ContainerPath: target, Info: info}
	case mode&fs.ModeSymlink != 0:
		p.addLink(t, host, target, info)
	default:
		p.log.Debug("skipping special file", "path", host, "mode", mode.String())
		p.skipped = append(p.skipped, host)
	}
}

// addLink keeps a link that keepLink accepts, unchanged.
func (p *planner) addLink(t *Tree, host, target string, info fs.FileInfo) {
	link, err := os.Readlink(host)
	if isGone(err) {
		return
	}
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("reading link %s: %w", host, err))
		return
	}
	if ok, reason := keepLink(t, host, link); !ok {
		p.log.Warn("skipping symlink", "path", host, "target", link, "reason", reason)
		p.skipped = append(p.skipped, host)
		return
	}
	p.entries[target] = Entry{Tree: t, HostPath: host, ContainerPath: target, Info: info, LinkTarget: filepath.ToSlash(link)}
}

// isGone reports an error that means the path no longer exists as a path
// through folders: missing, below a file, or below a symlink loop (lstat
// follows the links among a path's parents).
func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP)
}

// pruneNested orders the deletes by path and drops those under another one:
// removing the folder removes them.
func pruneNested(set map[string]Delete) []Delete {
	var out []Delete
	for _, p := range slices.Sorted(maps.Keys(set)) {
		if !hasAncestorIn(set, p) {
			out = append(out, set[p])
		}
	}
	return out
}

func hasAncestorIn[V any](set map[string]V, p string) bool {
	for dir := path.Dir(p); dir != p; p, dir = dir, path.Dir(dir) {
		if _, ok := set[dir]; ok {
			return true
		}
	}
	return false
}
