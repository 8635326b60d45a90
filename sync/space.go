package sync

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/devdtool/devd/engine"
)

// NoSpaceError is a copy that failed because the file system under a
// tree's target in the container is full. It wraps engine.ErrNoSpace.
// The host still has every file, so keep the work and apply it again once
// there is room.
type NoSpaceError struct {
	// Target is the ContainerRoot of the copied tree. When one archive
	// contained several trees, their roots are joined by ", ".
	Target string
	Err    error
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("%s in the container is out of space; free space in the container or make the volume that holds %s bigger: %v",
		e.Target, e.Target, e.Err)
}

func (e *NoSpaceError) Unwrap() error { return e.Err }

// NoSpaceTargets returns the Target of every NoSpaceError in err, joined
// errors included, sorted and without repeats. It returns nil when there is
// none.
func NoSpaceTargets(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if ns, ok := err.(*NoSpaceError); ok && !slices.Contains(out, ns.Target) {
			out = append(out, ns.Target)
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	slices.Sort(out)
	return out
}

// noSpace wraps a copy error that wraps engine.ErrNoSpace in a
// NoSpaceError naming the entries' trees, and returns other errors as they
// are.
func noSpace(entries []Entry, err error) error {
	if !errors.Is(err, engine.ErrNoSpace) {
		return err
	}
	var roots []string
	for _, e := range entries {
		root := path.Clean(e.Tree.ContainerRoot)
		if !slices.Contains(roots, root) {
			roots = append(roots, root)
		}
	}
	return &NoSpaceError{Target: strings.Join(roots, ", "), Err: err}
}
