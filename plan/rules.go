// Package plan turns a batch of changed host paths into the work each
// service needs: which files to sync into its containers and whether to
// restart it. It is pure: it reads no files and talks to no engine.
package plan

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/devdtool/devd/compose"
	filesync "github.com/devdtool/devd/sync"
	"github.com/devdtool/devd/watch"
)

// Rule is a compiled watch trigger of one service.
type Rule struct {
	// Trigger is the trigger the rule was compiled from.
	Trigger compose.Trigger
	// Tree maps the trigger's host folder to its container target. It is nil
	// when the trigger does not copy files (restart only, or bind-mounted).
	Tree *filesync.Tree

	ignore       *watch.Matcher               // trigger `ignore` patterns and .gitignore ones, relative to Path
	ignoreList   []string                     // the patterns of ignore, for explanations
	dockerignore *watch.Matcher               // build context .dockerignore, relative to the context
	include      *watch.Matcher               // trigger `include` patterns; nil means all
	installs     map[string]*compose.ExecHook // dependency installs by program, made on first use
}

// ServiceRules holds the compiled rules of one service.
type ServiceRules struct {
	// Service is the service the rules belong to.
	Service compose.Service
	// Rules are the compiled triggers in declaration order.
	Rules []Rule
}

// Compile compiles the triggers of the services that devd watches.
// Services whose Watch is false are left out. An invalid pattern is an
// error that names the service and the trigger.
func Compile(services []compose.Service) ([]ServiceRules, error) {
	var compiled []ServiceRules
	for _, svc := range services {
		if !svc.Watch {
			continue
		}
		sr := ServiceRules{Service: svc}
		for _, trig := range svc.Triggers {
			rule, err := compileRule(svc, trig)
			if err != nil {
				return nil, err
			}
			sr.Rules = append(sr.Rules, rule)
		}
		compiled = append(compiled, sr)
	}
	return compiled, nil
}

func compileRule(svc compose.Service, trig compose.Trigger) (Rule, error) {
	rule := Rule{Trigger: trig}
	where := fmt.Sprintf("service %q: %s trigger for %s", svc.Name, trig.Source, trig.Path)

	var err error
	ignore := trig.Ignore
	if svc.Gitignore {
		gitPatterns, err := readGitignore(trig.Path)
		if err != nil {
			return Rule{}, fmt.Errorf("%s: reading .gitignore: %w", where, err)
		}
		ignore = append(append([]string{}, ignore...), gitPatterns...)
	}
	rule.ignoreList = ignore
	if rule.ignore, err = watch.NewMatcher(trig.Path, ignore); err != nil {
		return Rule{}, fmt.Errorf("%s: ignore: %w", where, err)
	}
	if len(trig.Include) > 0 {
		if rule.include, err = watch.NewMatcher(trig.Path, trig.Include); err != nil {
			return Rule{}, fmt.Errorf("%s: include: %w", where, err)
		}
	}
	// A .dockerignore says what the image build leaves out, which is not
	// what a host build reads, so host-build triggers do not use it.
	if svc.BuildContext != "" && len(svc.DockerignorePatterns) > 0 && within(svc.BuildContext, trig.Path) &&
		!trig.Action.Builds() {
		if rule.dockerignore, err = watch.NewMatcher(svc.BuildContext, svc.DockerignorePatterns); err != nil {
			return Rule{}, fmt.Errorf("%s: .dockerignore of %s: %w", where, svc.BuildContext, err)
		}
	}

	if trig.Action.Syncs() && !trig.BindMounted && trig.Target != "" {
		tree := &filesync.Tree{HostRoot: trig.Path, ContainerRoot: trig.Target}
		tree.Skip = func(hostPath string, isDir bool) bool {
			if rule.mounted(hostPath) {
				return true
			}
			if isDir {
				return rule.skipDir(hostPath)
			}
			return !rule.Matches(hostPath)
		}
		rule.Tree = tree
	}
	return rule, nil
}

// Matches reports whether a change to the host path counts for the rule:
// the path is the trigger's path or lies under it, no other mount hides it
// from the container, and no ignore pattern excludes it.
func (r *Rule) Matches(hostPath string) bool {
	if !within(r.Trigger.Path, hostPath) {
		return false
	}
	for _, hidden := range r.Trigger.Hidden {
		if within(hidden, hostPath) {
			return false
		}
	}
	if r.ignoredByPattern(hostPath) {
		return false
	}
	if r.include != nil && hostPath != r.Trigger.Path && !r.include.Matches(hostPath) {
		return false
	}
	return true
}

// mounted reports whether a bind mount shows the host path in the container
// at its place on the rule's tree, so it must not be copied.
func (r *Rule) mounted(hostPath string) bool {
	for _, m := range r.Trigger.Mounted {
		if within(m, hostPath) {
			return true
		}
	}
	return false
}

// Covers reports whether the host path lies on the rule's tree, ignored or
// not. A deleted folder is not visible to Matches' include patterns, so
// deletes are judged by Covers and the ignore patterns alone.
func (r *Rule) Covers(hostPath string) bool {
	return within(r.Trigger.Path, hostPath)
}

// SkipDir reports whether the watcher can leave the folder out entirely.
func (r *Rule) skipDir(dir string) bool {
	if !within(r.Trigger.Path, dir) {
		return true
	}
	for _, hidden := range r.Trigger.Hidden {
		if within(hidden, dir) {
			return true
		}
	}
	if dir == r.Trigger.Path {
		return false
	}
	return watch.DefaultIgnoredBelow(r.Trigger.Path, dir) || r.ignore.SkipDir(dir) || r.dockerignore.SkipDir(dir)
}

func (r *Rule) ignoredByPattern(hostPath string) bool {
	if hostPath == r.Trigger.Path {
		return false
	}
	if watch.IsEditorTemp(filepath.Base(hostPath)) {
		return true
	}
	return watch.DefaultIgnoredBelow(r.Trigger.Path, hostPath) || r.ignore.Matches(hostPath) || r.dockerignore.Matches(hostPath)
}

// SkipWatch returns the function the watcher uses to leave out paths that
// no rule of any service cares about. Folders are skipped only when every
// rule that covers them can skip them as a whole.
func SkipWatch(services []ServiceRules, extra []string) func(path string, isDir bool) bool {
	return func(path string, isDir bool) bool {
		for _, p := range extra {
			if path == p {
				return false
			}
		}
		for i := range services {
			for j := range services[i].Rules {
				rule := &services[i].Rules[j]
				if isDir {
					if !rule.skipDir(path) {
						return false
					}
					continue
				}
				if rule.Matches(path) {
					return false
				}
			}
		}
		return true
	}
}

// within reports whether path is root or lies under it. Both are cleaned
// absolute paths.
func within(root, path string) bool {
	if path == root {
		return true
	}
	if root == string(filepath.Separator) {
		return strings.HasPrefix(path, root)
	}
	return strings.HasPrefix(path, root+string(filepath.Separator))
}

// ChangedSince reports whether a file or folder that the rule watches was
// modified after t. Folders the rule skips are not walked.
func (r *Rule) ChangedSince(t time.Time) bool {
	changed := errors.New("changed")
	err := filepath.WalkDir(r.Trigger.Path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != r.Trigger.Path && r.skipDir(p) {
			return filepath.SkipDir
		}
		if !d.IsDir() && !r.Matches(p) {
			return nil
		}
		info, err := d.Info()
		if err == nil && info.ModTime().After(t) {
			return changed
		}
		return nil
	})
	return errors.Is(err, changed)
}
