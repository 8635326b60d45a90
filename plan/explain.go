package plan

import (
	"path/filepath"
	"strings"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/watch"
)

// Explanation is the effect of one rule of one service on a host path.
type Explanation struct {
	// Service is the service name.
	Service string
	// Rule is the rule looked at.
	Rule *Rule
	// Covered is true when the path lies on the rule's tree.
	Covered bool
	// Hidden names the folder that another mount hides the path under, if
	// any.
	Hidden string
	// IgnoredBy names the pattern that ignores the path and where it comes
	// from, for example `"node_modules/" (develop.watch ignore)`; empty when
	// the path is not ignored.
	IgnoredBy string
	// ContainerPath is where the path goes in the container when the rule
	// copies it; empty otherwise.
	ContainerPath string
	// MountedAt is the container path at which a bind mount already shows
	// the path, so the rule copies nothing; empty otherwise.
	MountedAt string
}

// Matched reports whether a change to the path triggers the rule.
func (e Explanation) Matched() bool {
	return e.Covered && e.Hidden == "" && e.IgnoredBy == ""
}

// Explain returns, for every rule whose tree covers the path, what the rule
// does with it, in service and rule order.
func Explain(hostPath string, services []ServiceRules) []Explanation {
	var out []Explanation
	for i := range services {
		svc := &services[i]
		for j := range svc.Rules {
			rule := &svc.Rules[j]
			if !rule.Covers(hostPath) {
				continue
			}
			e := Explanation{Service: svc.Service.Name, Rule: rule, Covered: true}
			for _, hidden := range rule.Trigger.Hidden {
				if within(hidden, hostPath) {
					e.Hidden = hidden
				}
			}
			e.IgnoredBy = rule.ignoredBy(hostPath, svc.Service.BuildContext, svc.Service.DockerignorePatterns)
			if rule.Tree != nil && e.Matched() {
				if p, err := rule.Tree.ContainerPath(hostPath); err == nil {
					if rule.mounted(hostPath) {
						e.MountedAt = p
					} else {
						e.ContainerPath = p
					}
				}
			}
			out = append(out, e)
		}
	}
	return out
}

// ignoredBy names the pattern that makes the rule ignore the path.
func (r *Rule) ignoredBy(hostPath, buildContext string, dockerignore []string) string {
	if hostPath == r.Trigger.Path {
		return ""
	}
	if watch.IsEditorTemp(filepath.Base(hostPath)) {
		return "editor temporary file (always ignored)"
	}
	if watch.DefaultIgnoredBelow(r.Trigger.Path, hostPath) {
		if p := lastMatching(r.Trigger.Path, watch.DefaultIgnores, hostPath); p != "" {
			return quote(p) + " (always ignored)"
		}
		return "always ignored"
	}
	if r.ignore.Matches(hostPath) {
		p := lastMatching(r.Trigger.Path, r.ignoreList, hostPath)
		switch {
		case contains(r.Trigger.XDevdIgnore, p):
			return quote(p) + " (x-devd ignore)"
		case !contains(r.Trigger.Ignore, p):
			return quote(p) + " (.gitignore of " + r.Trigger.Path + ")"
		case r.Trigger.Source == compose.SourceHostBuild:
			return quote(p) + " (x-devd.build output)"
		}
		return quote(p) + " (" + string(r.Trigger.Source) + " ignore)"
	}
	if r.dockerignore.Matches(hostPath) {
		return quote(lastMatching(buildContext, dockerignore, hostPath)) + " (.dockerignore of " + buildContext + ")"
	}
	if r.include != nil && !r.include.Matches(hostPath) {
		return "not matched by include " + strings.Join(r.Trigger.Include, ", ")
	}
	return ""
}

// lastMatching returns the last pattern that matches the path on its own,
// ignoring the `!` of exclusions: with .dockerignore semantics the last
// matching pattern decides.
func lastMatching(base string, patterns []string, path string) string {
	last := ""
	for _, p := range patterns {
		m, err := watch.NewMatcher(base, []string{strings.TrimPrefix(p, "!")})
		if err == nil && m.Matches(path) {
			last = p
		}
	}
	return last
}

func quote(s string) string {
	return `"` + s + `"`
}
