package compose

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// buildKeys lists the keys of `x-devd.build`.
var buildKeys = []string{"command", "env", "output", "target", "watch", "workdir"}

// buildSpec is `x-devd.build` as written: host paths are not resolved yet.
type buildSpec struct {
	command []string
	workdir string
	env     []string
	watch   []string
	output  string
	target  string
}

// parseBuild parses `x-devd.build`. command, output and target are
// required.
func parseBuild(key string, v any) (*buildSpec, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &fieldError{key, "must be a mapping with command, output and target, got " + describe(v)}
	}
	b := &buildSpec{}
	for _, k := range sortedKeys(m) {
		fkey := key + "." + k
		val := m[k]
		var err error
		switch k {
		case "command":
			b.command, err = parseBuildCommand(fkey, val)
		case "workdir":
			b.workdir, err = asPath(fkey, val)
		case "env":
			b.env, err = parseBuildEnv(fkey, val)
		case "watch":
			b.watch, err = parseBuildWatch(fkey, val)
		case "output":
			b.output, err = asPath(fkey, val)
		case "target":
			b.target, err = asPath(fkey, val)
			if err == nil && !strings.HasPrefix(b.target, "/") {
				err = &fieldError{fkey, fmt.Sprintf("%q must be an absolute container path, such as /app/server", b.target)}
			}
		default:
			err = unknownKey(fkey, buildKeys)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, req := range []struct {
		key, what string
		set       bool
	}{
		{"command", "the build command, a string run by sh -c or a list run as it is", b.command != nil},
		{"output", "the host path of the artifact the command produces", b.output != ""},
		{"target", "the container path the artifact is copied to", b.target != ""},
	} {
		if !req.set {
			return nil, &fieldError{key + "." + req.key, "is required: " + req.what}
		}
	}
	return b, nil
}

// parseBuildCommand parses `build.command`: a string run through `sh -c`,
// or a list of strings run as it is.
func parseBuildCommand(key string, v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, &fieldError{key, "must not be empty"}
		}
		return []string{"sh", "-c", x}, nil
	case []any:
		if len(x) == 0 {
			return nil, &fieldError{key, "must not be empty"}
		}
		argv := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, &fieldError{fmt.Sprintf("%s[%d]", key, i), "must be a string, got " + describe(e)}
			}
			argv[i] = s
		}
		if argv[0] == "" {
			return nil, &fieldError{key + "[0]", "must name the program to run"}
		}
		return argv, nil
	}
	return nil, &fieldError{key, "must be a string or a list of strings, got " + describe(v)}
}

// parseBuildEnv parses `build.env`, a mapping of variable names to scalar
// values, into sorted "KEY=value" entries.
func parseBuildEnv(key string, v any) ([]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &fieldError{key, "must be a mapping such as {CGO_ENABLED: 0}, got " + describe(v)}
	}
	env := make([]string, 0, len(m))
	for _, name := range sortedKeys(m) {
		ekey := key + "." + name
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return nil, &fieldError{ekey, "is not a valid variable name"}
		}
		var value string
		switch x := m[name].(type) {
		case string:
			value = x
		case bool, int, int64, uint64, float64:
			value = fmt.Sprint(x)
		default:
			return nil, &fieldError{ekey, "must be a string, a number or a boolean, got " + describe(x)}
		}
		env = append(env, name+"="+value)
	}
	return env, nil
}

// parseBuildWatch parses `build.watch`, a list of paths.
func parseBuildWatch(key string, v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, &fieldError{key, "must be a non-empty list of paths relative to the project, such as [./cmd, ./internal, go.mod], got " + describe(v)}
	}
	paths := make([]string, len(list))
	for i, e := range list {
		p, err := asPath(fmt.Sprintf("%s[%d]", key, i), e)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	return paths, nil
}

// asPath converts a non-empty path string.
func asPath(key string, v any) (string, error) {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", &fieldError{key, "must be a non-empty path, got " + describe(v)}
	}
	return s, nil
}

// hostBuild resolves a parsed `x-devd.build` against the project folder
// and returns it with its triggers: one per watched path, with the output
// ignored where it lies under a watched folder, so writing the artifact
// does not start the build again.
func (d *deriver) hostBuild(spec *buildSpec) (*HostBuild, []Trigger, error) {
	const key = extensionKey + ".build"
	base := d.project.WorkingDir
	b := &HostBuild{
		Command: spec.command,
		Dir:     resolvePath(base, ""),
		Env:     spec.env,
		Target:  path.Clean(spec.target),
	}
	if spec.workdir != "" {
		b.Dir = resolvePath(spec.workdir, base)
		if fi, err := os.Stat(b.Dir); err != nil || !fi.IsDir() {
			return nil, nil, &fieldError{key + ".workdir", fmt.Sprintf("%s is not a folder: create it or correct the path", b.Dir)}
		}
	}
	b.Output = resolvePath(spec.output, base)
	if b.Output == b.Dir {
		return nil, nil, &fieldError{key + ".output", "must name the artifact file, not the build folder"}
	}

	watch := spec.watch
	if len(watch) == 0 {
		watch = []string{b.Dir}
	}
	triggers := make([]Trigger, 0, len(watch))
	for i, w := range watch {
		p := resolvePath(w, base)
		if _, err := os.Stat(p); err != nil {
			msg := fmt.Sprintf("%s cannot be read: %v", p, err)
			if errors.Is(err, os.ErrNotExist) {
				msg = fmt.Sprintf("%s does not exist: create it or correct the path", p)
			}
			return nil, nil, &fieldError{fmt.Sprintf("%s.watch[%d]", key, i), msg}
		}
		if p == b.Output {
			return nil, nil, &fieldError{fmt.Sprintf("%s.watch[%d]", key, i), "is the build output: watching it would run the build again after every build"}
		}
		b.Watch = append(b.Watch, p)
		t := Trigger{Source: SourceHostBuild, Index: i, Action: ActionHostBuild, Path: p}
		if within(p, b.Output) {
			rel, err := filepath.Rel(p, b.Output)
			if err == nil {
				// Compilers write the artifact under a temporary name beside
				// it first (`go build -o x` writes x-go-tmp-umask): those
				// names must not start the build again either.
				rel = filepath.ToSlash(rel)
				t.Ignore = []string{rel, rel + "-*", rel + ".*", rel + "~"}
				// An output folder of its own (bin/) holds only build
				// products, and its creation must not start a build either.
				if dir := path.Dir(rel); dir != "." {
					t.Ignore = append(t.Ignore, dir)
				}
			}
		}
		triggers = append(triggers, t)
	}
	sort.Strings(b.Env)
	return b, triggers, nil
}
