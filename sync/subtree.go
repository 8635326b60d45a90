package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
)

// subtreeDiff holds the copies and deletes that make the container's copy of
// a subtree equal to the host's.
type subtreeDiff struct {
	entries []Entry  // to copy, folders before what they hold
	deletes []Delete // to remove, none under another
	skipped []string // host paths left alone (links, special files, unreadable folders)

	walkErrs []error // folders that could not be read
	readErrs []error // files that could not be read to compare them
}

// diffSubtree compares a subtree of the host with the container's copy,
// read through the archive API (see Diff). A container that lacks the
// subtree gets all of it.
func diffSubtree(ctx context.Context, r Reader, id string, s subtree, owner Owner, log hclog.Logger) (subtreeDiff, error) {
	host, err := scanHost(s, owner, log)
	if err != nil {
		return subtreeDiff{}, err
	}
	d := subtreeDiff{skipped: host.skipped, walkErrs: host.errs}
	if host.holes["."] {
		return d, errors.New("the source folder cannot be read")
	}
	ctr, err := scanContainer(ctx, r, id, s, host)
	if err != nil {
		return d, err
	}
	d.readErrs = hashCandidates(host, ctr)

	copies, deletes := Diff(host.infos, ctr.infos)
	for _, rel := range copies {
		d.entries = append(d.entries, host.entries[rel])
	}
	for _, rel := range deletes {
		d.deletes = append(d.deletes, Delete{Tree: s.tree, Path: joinRel(s.ctr, rel)})
	}
	return d, nil
}

// hashCandidates hashes the host files whose container copy was hashed
// because the sizes are equal. A file that cannot be read becomes a hole:
// the container's copy is left alone.
func hashCandidates(host *hostTree, ctr *containerTree) []error {
	var errs []error
	for rel, c := range ctr.infos {
		h, ok := host.infos[rel]
		if !ok || c.Hash == "" || h.Kind != KindFile {
			continue
		}
		sum, err := hashFile(host.entries[rel].HostPath, host.entries[rel].Info)
		if err != nil {
			if isGone(err) {
				// Removed since the scan: its own change deletes it.
				delete(host.infos, rel)
				delete(ctr.infos, rel)
				continue
			}
			errs = append(errs, fmt.Errorf("reading %s: %w", host.entries[rel].HostPath, err))
			host.hole(rel, host.entries[rel].HostPath)
			delete(ctr.infos, rel)
			continue
		}
		h.Hash = sum
		host.infos[rel] = h
	}
	return errs
}
