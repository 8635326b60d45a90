package sync

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// refineFolders makes each changed folder that the container already holds
// exact, not just copied: the container's copy is read, and the plan's
// entries and deletes below the folder are replaced by the difference (see
// Diff). It catches what no event reports: a folder renamed over another
// leaves the old one's files behind, and so does content that sat under a
// link the policy skipped.
//
// It needs c to be a Reader and a Stater, as *engine.Client is. Without
// them, or when the container's copy cannot be read, the plan stays as it
// is. A folder the container lacks, or has as a file or link, needs no
// reading, because the copy replaces it whole.
func refineFolders(ctx context.Context, c Copier, id string, plan Plan, owner Owner, log hclog.Logger) (Plan, []error) {
	r, canRead := c.(Reader)
	st, canStat := c.(Stater)
	if !canRead || !canStat || len(plan.folders) == 0 {
		return plan, nil
	}

	var errs []error
	considered := map[string]bool{}
	skipped := map[string]bool{}
	for _, p := range plan.Skipped {
		skipped[p] = true
	}
	for _, f := range plan.folders {
		// Folders are sorted: an outer one comes first and covers this one.
		if hasAncestorIn(considered, f.ctr) {
			continue
		}
		considered[f.ctr] = true
		s, err := st.StatPath(ctx, id, f.ctr)
		if err != nil || !s.Mode.IsDir() {
			continue
		}
		d, err := diffSubtree(ctx, r, id, f, owner, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("comparing %s with container %s: %w", f.host, f.ctr, err))
			continue
		}
		// Walk errors were reported when the batch was planned.
		errs = append(errs, d.readErrs...)
		for _, p := range d.skipped {
			if !skipped[p] {
				skipped[p] = true
				plan.Skipped = append(plan.Skipped, p)
			}
		}

		below := strings.TrimSuffix(f.ctr, "/") + "/"
		plan.Entries = slices.DeleteFunc(plan.Entries, func(e Entry) bool { return strings.HasPrefix(e.ContainerPath, below) })
		for _, e := range d.entries {
			if e.ContainerPath != f.ctr {
				plan.Entries = append(plan.Entries, e)
			}
		}
		plan.Deletes = slices.DeleteFunc(plan.Deletes, func(del Delete) bool { return strings.HasPrefix(del.Path, below) })
		plan.Deletes = append(plan.Deletes, d.deletes...)
		log.Trace("compared changed folder with the container", "path", f.host, "copies", len(d.entries), "deletes", len(d.deletes))
	}

	slices.SortFunc(plan.Entries, func(a, b Entry) int { return strings.Compare(a.ContainerPath, b.ContainerPath) })
	set := map[string]Delete{}
	for _, d := range plan.Deletes {
		set[path.Clean(d.Path)] = d
	}
	plan.Deletes = pruneNested(set)
	return plan, errs
}
