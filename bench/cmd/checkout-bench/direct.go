package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Ways to read the container's files, selected by -read.
const (
	// readEngine reads them through the Engine archive API (docker cp),
	// which works with any engine but costs the engine a whole archive of
	// the folder per read.
	readEngine = "engine"
	// readDirect reads them from the engine's overlay2 mount on this
	// machine, which needs a local engine and the right to read its data
	// root. Only files whose status changed are hashed again, so a read
	// costs a walk of the folder.
	readDirect = "direct"
	// readAuto reads directly where it can, and through the engine
	// otherwise.
	readAuto = "auto"
)

// settleMargin is the minimum age of a file's change time for its hash to
// be kept for the next read. The kernel stamps change times from a coarse
// clock, so a file written twice within one tick keeps its time. A file
// whose time is older than the margin gets a newer time when it changes.
const settleMargin = 50 * time.Millisecond

// reader reads digests of containers' synced folders, as hostDigest
// computes them for the host.
type reader struct {
	mode   string
	direct map[string]*directReader // by container id; nil: not readable directly
}

func newReader(mode string) *reader {
	return &reader{mode: mode, direct: map[string]*directReader{}}
}

// digest returns the digest of the container's synced folder. A direct read
// falls back to the engine while the container's file system is not mounted
// (it is stopped or restarting).
func (r *reader) digest(ctx context.Context, id string) (string, error) {
	if r.mode == readEngine {
		return containerDigest(ctx, id)
	}
	d, ok := r.direct[id]
	if !ok {
		var err error
		d, err = newDirectReader(ctx, id)
		if err != nil && r.mode == readDirect {
			return "", err
		}
		r.direct[id] = d
	}
	if d == nil {
		return containerDigest(ctx, id)
	}
	sum, err := d.digest()
	if errors.Is(err, errNotMounted) {
		return containerDigest(ctx, id)
	}
	return sum, err
}

// method returns how the containers' files were read, for the report.
func (r *reader) method() string {
	if r.mode == readEngine {
		return "through the Engine archive API"
	}
	for _, d := range r.direct {
		if d != nil {
			return "from the engine's overlay2 mount"
		}
	}
	return "through the Engine archive API (the engine's mount is not readable here)"
}

var errNotMounted = errors.New("the container's file system is not mounted")

// directReader reads one container's synced folder from its overlay2 mount.
type directReader struct {
	dir   string
	known map[string]hashed
}

// hashed is a file's status when its content had the hash sum.
type hashed struct {
	size, mtime, ctime int64
	ino                uint64
	sum                string
}

func newDirectReader(ctx context.Context, id string) (*directReader, error) {
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.GraphDriver.Name}} {{.GraphDriver.Data.MergedDir}}", id).Output()
	if err != nil {
		return nil, fmt.Errorf("finding the file system of %s: %w", id, err)
	}
	driver, merged, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if driver != "overlay2" || merged == "" || merged == "<no value>" {
		return nil, fmt.Errorf("the engine stores %s with %q, not overlay2", id, driver)
	}
	d := &directReader{dir: filepath.Join(merged, filepath.FromSlash(appDir)), known: map[string]hashed{}}
	if _, err := d.digest(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *directReader) digest() (string, error) {
	start := time.Now()
	if _, err := os.Stat(d.dir); errors.Is(err, fs.ErrNotExist) {
		return "", errNotMounted
	}
	sums := make(map[string]string, len(d.known))
	seen := make(map[string]hashed, len(d.known))
	err := filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.dir, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() && rel == "node_modules" {
			return filepath.SkipDir
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		now, ok := fileStatus(info)
		if !ok {
			return fmt.Errorf("no file status for %s", p)
		}
		if old, ok := d.known[rel]; ok && old.size == now.size && old.mtime == now.mtime && old.ctime == now.ctime && old.ino == now.ino {
			now.sum = old.sum
		} else if now.sum, err = fileMD5(p); err != nil {
			return err
		}
		sums["./"+rel] = now.sum
		if time.Unix(0, now.ctime).Before(start.Add(-settleMargin)) {
			seen[rel] = now
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		// The mount went away while it was read.
		return "", errNotMounted
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", d.dir, err)
	}
	d.known = seen
	return digestOf(sums), nil
}
