package compose

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/devdtool/devd/watch"
)

// bindTriggers derives the zero-configuration triggers of a service: one
// restart trigger per bind mount of a folder inside the project. Bind
// mounts of files, of folders outside the project (the Docker socket, a
// shared cache) and of sources that do not exist are not watched.
func (d *deriver) bindTriggers(sc types.ServiceConfig) ([]Trigger, []string) {
	var triggers []Trigger
	var warnings []string
	for i, v := range sc.Volumes {
		if v.Type != types.VolumeTypeBind || v.Source == "" || v.Target == "" {
			continue
		}
		src := resolvePath(v.Source, d.project.WorkingDir)
		if !within(d.projectDir, src) {
			continue
		}
		fi, err := os.Stat(src)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("service %q: volumes[%d]: bind mount source %s cannot be read and is not watched: %v", sc.Name, i, src, err))
			continue
		}
		if !fi.IsDir() {
			continue
		}
		target := containerPath(v.Target)
		triggers = append(triggers, Trigger{
			Source:      SourceBindMount,
			Index:       i,
			Action:      ActionRestart,
			Path:        src,
			Target:      target,
			BindMounted: true,
		})
		t := &triggers[len(triggers)-1]
		t.Hidden, t.Mounted = d.mountsBelow(sc, i, src, target)
	}
	return triggers, warnings
}

// developTriggers reads a service's `develop.watch` triggers. Triggers with
// actions devd does not carry out yet are skipped and described in the
// returned notes.
func (d *deriver) developTriggers(sc types.ServiceConfig) ([]Trigger, []string, error) {
	var triggers []Trigger
	var notes []string
	for j, w := range sc.Develop.Watch {
		key := fmt.Sprintf("develop.watch[%d]", j)
		action := Action(w.Action)
		switch action {
		case ActionSync, ActionRestart, ActionSyncRestart, ActionRebuild:
		case ActionSyncExec:
			if len(w.Exec.Command) == 0 {
				return nil, nil, &ConfigError{Service: sc.Name, Key: key + ".exec.command", Message: "is required for action sync+exec: the command to run after each sync"}
			}
		default:
			notes = append(notes, fmt.Sprintf("%s: unknown action %q; the trigger is skipped", key, w.Action))
			continue
		}

		if w.Path == "" {
			return nil, nil, &ConfigError{Service: sc.Name, Key: key + ".path", Message: "is required: the host path to watch"}
		}
		hostPath := resolvePath(w.Path, d.project.WorkingDir)
		if _, err := os.Stat(hostPath); err != nil {
			msg := fmt.Sprintf("%s cannot be read: %v", hostPath, err)
			if errors.Is(err, os.ErrNotExist) {
				msg = fmt.Sprintf("%s does not exist: create it or correct the path", hostPath)
			}
			return nil, nil, &ConfigError{Service: sc.Name, Key: key + ".path", Message: msg, Err: err}
		}

		for _, list := range []struct {
			field    string
			patterns []string
		}{{"ignore", w.Ignore}, {"include", w.Include}} {
			for m, pattern := range list.patterns {
				if err := watch.CheckPattern(pattern); err != nil {
					return nil, nil, &ConfigError{Service: sc.Name, Key: fmt.Sprintf("%s.%s[%d]", key, list.field, m), Message: badPattern(pattern, err), Err: err}
				}
			}
		}

		var target string
		if w.Target != "" {
			target = containerPath(w.Target)
		}
		t := Trigger{
			Source:      SourceDevelopWatch,
			Index:       j,
			Action:      action,
			Path:        hostPath,
			Target:      target,
			BindMounted: d.bindMounted(sc, hostPath, target),
			Ignore:      w.Ignore,
			Include:     w.Include,
			InitialSync: w.InitialSync,
		}
		if action == ActionSyncExec {
			t.Exec = &ExecHook{
				Command:    append([]string(nil), w.Exec.Command...),
				User:       w.Exec.User,
				WorkingDir: w.Exec.WorkingDir,
				Privileged: w.Exec.Privileged,
				Env:        environment(w.Exec.Environment),
			}
		}
		if target != "" {
			t.Hidden, t.Mounted = d.mountsBelow(sc, -1, hostPath, target)
		}
		triggers = append(triggers, t)
	}
	return triggers, notes, nil
}

// bindMounted reports whether a trigger's files are already visible in the
// container through a bind mount of the service. That is the case when the
// trigger's target lies in a bind mount's target, or when its host path
// lies in a bind mount's source and maps to the same container path (or
// the trigger has no target). Files are never copied into a bind mount,
// because the copy would write through to the host.
func (d *deriver) bindMounted(sc types.ServiceConfig, hostPath, target string) bool {
	for _, v := range sc.Volumes {
		if v.Type != types.VolumeTypeBind || v.Target == "" {
			continue
		}
		bindTarget := containerPath(v.Target)
		if target != "" && withinSlash(bindTarget, target) {
			return true
		}
		src := resolvePath(v.Source, d.project.WorkingDir)
		if !within(src, hostPath) {
			continue
		}
		if target == "" || target == mapPath(src, bindTarget, hostPath) {
			return true
		}
	}
	return false
}

// mountsBelow sorts the other mounts of the service whose target lies under
// target by what they do to the host paths under root. hidden lists the host
// paths that the container cannot see: volumes, tmpfs and image mounts
// there, and bind mounts there of another host path. mounted lists the
// host paths that a bind mount shows at the very place target maps them to:
// they are visible in the container already, and a copy would write through
// the mount to the host. except is the index of the mount that root comes
// from, or -1.
func (d *deriver) mountsBelow(sc types.ServiceConfig, except int, root, target string) (hidden, mounted []string) {
	seen := make(map[string]bool)
	hostPathAt := func(mountTarget string) string {
		mt := containerPath(mountTarget)
		if mt == target || !withinSlash(target, mt) {
			return ""
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(mt, target), "/")
		host := filepath.Join(root, filepath.FromSlash(rel))
		if seen[host] {
			return ""
		}
		seen[host] = true
		return host
	}

	for i, v := range sc.Volumes {
		if i == except || v.Target == "" {
			continue
		}
		host := hostPathAt(v.Target)
		if host == "" {
			continue
		}
		if v.Type == types.VolumeTypeBind && resolvePath(v.Source, d.project.WorkingDir) == host {
			mounted = append(mounted, host)
			continue
		}
		hidden = append(hidden, host)
	}
	for _, t := range sc.Tmpfs {
		mountTarget, _, _ := strings.Cut(t, ":")
		if host := hostPathAt(mountTarget); host != "" {
			hidden = append(hidden, host)
		}
	}
	return hidden, mounted
}

// containerPath cleans a container path, with forward slashes.
func containerPath(p string) string {
	return path.Clean(filepath.ToSlash(p))
}

// mapPath maps a host path under a bind mount's source to the container
// path the mount shows it at.
func mapPath(source, target, hostPath string) string {
	rel, err := filepath.Rel(source, hostPath)
	if err != nil {
		return ""
	}
	return path.Join(target, filepath.ToSlash(rel))
}

// within reports whether the host path p is root or lies under it. Both
// are clean absolute paths.
func within(root, p string) bool {
	if root == "" {
		return false
	}
	if p == root {
		return true
	}
	if root == string(filepath.Separator) {
		return strings.HasPrefix(p, root)
	}
	return strings.HasPrefix(p, root+string(filepath.Separator))
}

// withinSlash is within for container paths.
func withinSlash(root, p string) bool {
	if p == root {
		return true
	}
	if root == "/" {
		return strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, root+"/")
}

// environment turns a Compose mapping into sorted "KEY=value" entries; a
// key without a value is left out, as Compose leaves out unset variables.
func environment(m types.MappingWithEquals) []string {
	var env []string
	for k, v := range m {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	sort.Strings(env)
	return env
}
