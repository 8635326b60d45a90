package plan

import (
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/devdtool/devd/compose"
	filesync "github.com/devdtool/devd/sync"
)

// MaxReasons caps how many changed paths a Work keeps to explain a restart.
const MaxReasons = 5

// Work is the work that one batch requests of one service.
type Work struct {
	// Service is the service name.
	Service string
	// Changes are the host paths to bring into the service's containers,
	// each with the tree that maps it. Whether a change is a copy or a
	// delete is decided when it is applied, from the host's current state.
	Changes []filesync.Change
	// Restart is true when a matched rule restarts the service.
	Restart bool
	// Build is true when a matched rule runs the service's host build;
	// the artifact is synced and the service restarted after it succeeds.
	Build bool
	// Rebuild is true when a matched rule rebuilds the service's image and
	// recreates its containers.
	Rebuild bool
	// Reconcile is true when the service's synced folders must be compared
	// with its containers' and brought up to date, as when a container
	// starts.
	Reconcile bool
	// Execs are the commands of matched sync+exec rules, to run in every
	// container after the sync, each once.
	Execs []*compose.ExecHook
	// Reasons holds up to MaxReasons changed paths that caused the work,
	// relative to the project folder when possible.
	Reasons []string
	// PathCount is the number of changed paths that matched the service.
	PathCount int
	// Requested holds why a person asked for the work ("devd restart"),
	// for work that no file change caused.
	Requested string
	// Revived marks changes that devd queued again after starting a
	// crashed container; on their own they do not start it once more.
	Revived bool
	// First is when the earliest change of the work happened; zero when
	// unknown. The time from First to ready is what a developer waits.
	First time.Time

	seen map[string]bool // the distinct changed paths; nil for work made by hand
}

// Make returns the work a batch of changed host paths asks of each service,
// in service order. Services that no path matches get no Work. A path that
// matches several rules of one service is synced once per tree and counts
// once.
func Make(paths []string, services []ServiceRules, projectDir string, first time.Time) []Work {
	var works []Work
	for i := range services {
		svc := &services[i]
		work := Work{Service: svc.Service.Name, First: first}
		seen := make(map[string]bool)
		work.seen = seen

		for _, p := range paths {
			matched := false
			for j := range svc.Rules {
				rule := &svc.Rules[j]
				if !rule.Matches(p) {
					continue
				}
				matched = true
				// A bind mount shows a mounted path already, so it only
				// restarts.
				if rule.Tree != nil && rule.Trigger.Action.Syncs() && !rule.mounted(p) {
					work.Changes = append(work.Changes, filesync.Change{Tree: rule.Tree, HostPath: p})
				}
				if rule.Trigger.Action.Restarts() {
					work.Restart = true
				}
				if rule.Trigger.Action.Builds() {
					work.Build = true
				}
				if rule.Trigger.Action.Rebuilds() {
					work.Rebuild = true
				}
				if rule.Trigger.Exec != nil {
					work.addExec(rule.Trigger.Exec)
				}
				if hook := rule.dependencyInstall(p); hook != nil {
					work.addExec(hook)
				}
			}
			if matched && !seen[p] {
				seen[p] = true
				work.PathCount++
				if len(work.Reasons) < MaxReasons {
					work.Reasons = append(work.Reasons, relative(projectDir, p))
				}
			}
		}
		if work.PathCount > 0 {
			works = append(works, work)
		}
	}
	return works
}

// Merge folds later work for the same service into w: changes are
// appended without duplicates and a restart request is kept.
func (w *Work) Merge(later Work) {
	// Decided before later's changes are appended, which make w non-empty.
	wasEmpty := w.Empty()
	type key struct {
		tree *filesync.Tree
		path string
	}
	have := make(map[key]bool, len(w.Changes))
	for _, c := range w.Changes {
		have[key{c.Tree, c.HostPath}] = true
	}
	for _, c := range later.Changes {
		if !have[key{c.Tree, c.HostPath}] {
			have[key{c.Tree, c.HostPath}] = true
			w.Changes = append(w.Changes, c)
		}
	}
	switch {
	case later.seen == nil:
		w.PathCount += later.PathCount
	case w.seen == nil && w.PathCount == 0:
		w.seen = make(map[string]bool, len(later.seen))
		fallthrough
	default:
		if w.seen == nil {
			w.PathCount += later.PathCount
			break
		}
		for p := range later.seen {
			if !w.seen[p] {
				w.seen[p] = true
				w.PathCount++
			}
		}
	}
	if w.Requested == "" {
		w.Requested = later.Requested
	}
	switch {
	case later.Empty():
	case wasEmpty:
		w.Revived = later.Revived
	default:
		w.Revived = w.Revived && later.Revived
	}
	w.Restart = w.Restart || later.Restart
	w.Build = w.Build || later.Build
	w.Rebuild = w.Rebuild || later.Rebuild
	w.Reconcile = w.Reconcile || later.Reconcile
	for _, e := range later.Execs {
		w.addExec(e)
	}
	if w.First.IsZero() || (!later.First.IsZero() && later.First.Before(w.First)) {
		w.First = later.First
	}
	for _, r := range later.Reasons {
		if len(w.Reasons) >= MaxReasons {
			break
		}
		if !contains(w.Reasons, r) {
			w.Reasons = append(w.Reasons, r)
		}
	}
}

// Split separates what the work copies from what it does once the copies
// are in. copies has the changes and the reconciliation. actions has the
// restart, build, rebuild and commands, with the work's reasons and path
// count, so that a restart held back still names what caused it. Rebuild
// work recreates the containers, which makes copies moot, so all of it goes
// to actions.
func (w Work) Split() (copies, actions Work) {
	if w.Rebuild {
		return Work{Service: w.Service}, w
	}
	copies = w
	copies.Restart, copies.Build, copies.Execs = false, false, nil
	actions = Work{
		Service: w.Service, Restart: w.Restart, Build: w.Build, Execs: w.Execs,
		Reasons: slices.Clone(w.Reasons), PathCount: w.PathCount, Requested: w.Requested, First: w.First,
		seen: maps.Clone(w.seen),
	}
	if !actions.Restart && !actions.Build && len(actions.Execs) == 0 {
		return copies, Work{Service: w.Service}
	}
	return copies, actions
}

// Empty reports whether the work requests nothing.
func (w Work) Empty() bool {
	return len(w.Changes) == 0 && !w.Restart && !w.Build && !w.Rebuild && !w.Reconcile && len(w.Execs) == 0
}

// addExec adds a sync+exec command unless the work has it already.
func (w *Work) addExec(e *compose.ExecHook) {
	for _, have := range w.Execs {
		if have == e {
			return
		}
	}
	w.Execs = append(w.Execs, e)
}

// SortedPaths returns the distinct host paths of the work's changes.
func (w *Work) SortedPaths() []string {
	set := make(map[string]bool)
	for _, c := range w.Changes {
		set[c.HostPath] = true
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func relative(base, path string) string {
	if base == "" {
		return path
	}
	rel, err := filepath.Rel(base, path)
	if err != nil || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
		return path
	}
	return filepath.ToSlash(rel)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
