package compose

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/devdtool/devd/watch"
)

// Defaults Compose and Docker apply when a service does not set them.
const (
	defaultStopSignal      = "SIGTERM"
	defaultStopGracePeriod = 10 * time.Second
)

// Derive computes devd's rules for the selected services of a loaded
// Compose project (all enabled services when selected is empty), sorted by
// name. It returns warnings to show the user once, such as a debugger that
// the host cannot reach.
//
// Derive reads the file system only to resolve symbolic links and to tell
// folders from files; .dockerignore files are read through readIgnore,
// which returns nil and no error for a missing file (nil means
// ReadIgnoreFile). Paths in p are expected to be absolute, as Load leaves
// them; relative ones are taken relative to p.WorkingDir.
//
// Errors are *ConfigError: a selected service that does not exist or is in
// a profile not enabled, an invalid `x-devd` section, a `develop.watch` path
// that does not exist. When p has several Compose files, ConfigError.File is
// left empty; Load fills it in.
func Derive(p *types.Project, selected []string, readIgnore func(path string) ([]string, error)) ([]Service, []string, error) {
	if p == nil {
		return nil, nil, errors.New("deriving rules: no project")
	}
	if readIgnore == nil {
		readIgnore = ReadIgnoreFile
	}
	names, err := selectServices(p, selected)
	if err != nil {
		return nil, nil, err
	}

	var file string
	if len(p.ComposeFiles) == 1 {
		file = displayPath(p.WorkingDir, p.ComposeFiles[0])
	}
	d := deriver{
		project:    p,
		projectDir: resolvePath(p.WorkingDir, ""),
		readIgnore: readIgnore,
	}

	var warnings []string
	if _, ok := p.Extensions[extensionKey]; ok {
		warnings = append(warnings, "x-devd at the top level of the Compose file is ignored: put it under each service it is for")
	}
	services := make([]Service, 0, len(names))
	for _, name := range names {
		svc, warns, err := d.service(name, p.Services[name])
		if err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				return nil, nil, &ConfigError{File: file, Service: name, Key: fe.key, Message: fe.message}
			}
			var ce *ConfigError
			if errors.As(err, &ce) && ce.File == "" {
				ce.File = file
			}
			return nil, nil, err
		}
		services = append(services, svc)
		warnings = append(warnings, warns...)
	}
	return services, warnings, nil
}

// ReadIgnoreFile reads the patterns of a .dockerignore file with Docker's
// rules. A missing file gives nil and no error.
func ReadIgnoreFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if patterns == nil {
		patterns = []string{}
	}
	return patterns, nil
}

// selectServices returns the names of the selected services, sorted, or of
// all enabled services when none is selected.
func selectServices(p *types.Project, selected []string) ([]string, error) {
	if len(selected) == 0 {
		names := p.ServiceNames()
		sort.Strings(names)
		return names, nil
	}

	seen := map[string]bool{}
	var names, unknown, disabled []string
	for _, name := range selected {
		if seen[name] {
			continue
		}
		seen[name] = true
		switch {
		case hasService(p.Services, name):
			names = append(names, name)
		case hasService(p.DisabledServices, name):
			disabled = append(disabled, name)
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 && len(disabled) == 0 {
		sort.Strings(names)
		return names, nil
	}

	var parts []string
	if len(unknown) > 0 {
		noun := "service"
		if len(unknown) > 1 {
			noun = "services"
		}
		msg := fmt.Sprintf("unknown %s %s; the project's services are %s", noun, quoteAll(unknown), listOrNone(p.ServiceNames()))
		if off := p.DisabledServiceNames(); len(off) > 0 {
			sort.Strings(off)
			msg += fmt.Sprintf(" (and %s in profiles not enabled)", strings.Join(off, ", "))
		}
		parts = append(parts, msg)
	}
	for _, name := range disabled {
		parts = append(parts, profileMessage(name, p.DisabledServices[name].Profiles))
	}
	return nil, &ConfigError{Message: strings.Join(parts, "; ")}
}

// profileMessage returns the message for a service whose profiles are not
// enabled, with the flag that enables one.
func profileMessage(name string, profiles []string) string {
	if len(profiles) == 0 {
		return fmt.Sprintf("service %q is disabled", name)
	}
	if len(profiles) == 1 {
		return fmt.Sprintf("service %q is in profile %q, which is not enabled: pass --profile %s or set COMPOSE_PROFILES=%s",
			name, profiles[0], profiles[0], profiles[0])
	}
	return fmt.Sprintf("service %q is in profiles %s, none of which is enabled: pass --profile %s or set COMPOSE_PROFILES=%s",
		name, quoteAll(profiles), profiles[0], profiles[0])
}

func hasService(s types.Services, name string) bool {
	_, ok := s[name]
	return ok
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// deriver contains the project data that deriving one service needs.
type deriver struct {
	project *types.Project
	// projectDir is the project directory with symbolic links resolved.
	projectDir string
	readIgnore func(path string) ([]string, error)
}

// service derives the rules of one service.
func (d *deriver) service(name string, sc types.ServiceConfig) (Service, []string, error) {
	sc.Name = name
	_, present := sc.Extensions[extensionKey]
	ext, err := parseExtension(sc.Extensions[extensionKey], present)
	if err != nil {
		return Service{}, nil, err
	}

	svc := Service{
		Name:            sc.Name,
		Restart:         RestartMode{Kind: RestartContainer},
		StopSignal:      defaultStopSignal,
		StopGracePeriod: defaultStopGracePeriod,
		User:            sc.User,
		Ports:           publishedPorts(sc.Ports),
	}
	if ext.restart != nil {
		svc.Restart = *ext.restart
		svc.RestartSet = true
	}
	svc.Ready, svc.SyncUser, svc.Poll = ext.ready, ext.user, ext.poll
	svc.Gitignore, svc.DebugWait, svc.Supervise = ext.gitignore, ext.debugWait, ext.supervise
	if sc.StopSignal != "" {
		svc.StopSignal = normalizeSignal(sc.StopSignal)
	}
	if sc.StopGracePeriod != nil {
		svc.StopGracePeriod = time.Duration(*sc.StopGracePeriod)
	}
	if err := d.build(sc, &svc); err != nil {
		return Service{}, nil, err
	}

	var buildTriggers []Trigger
	if ext.build != nil {
		svc.Build, buildTriggers, err = d.hostBuild(ext.build)
		if err != nil {
			return Service{}, nil, err
		}
	}

	svc.Command = append(append([]string(nil), sc.Entrypoint...), sc.Command...)
	detected := detectDebug(sc)
	svc.Debug = mergeDebug(ext.debug, detected)
	warnings := debugWarnings(sc.Name, detected)

	switch {
	case ext.watch != nil && !*ext.watch:
		// The user turned watching off. Debug stays listed for callers that
		// proxy debug ports of services they do not watch.
		svc.WatchOff = true
		return svc, warnings, nil
	case sc.Develop != nil && len(sc.Develop.Watch) > 0:
		svc.Triggers, svc.Unsupported, err = d.developTriggers(sc)
		if err != nil {
			return Service{}, nil, err
		}
		svc.Triggers = append(svc.Triggers, buildTriggers...)
	case svc.Build != nil:
		// Only the build's watch paths are watched. A bind mount trigger
		// would restart the service on a source change before the build
		// has produced anything new.
		svc.Triggers = buildTriggers
	case sc.Build != nil || len(detected) > 0 || ext.present:
		var warns []string
		svc.Triggers, warns = d.bindTriggers(sc)
		warnings = append(warnings, warns...)
	}

	for i := range svc.Triggers {
		svc.Triggers[i].Ignore = append(svc.Triggers[i].Ignore, ext.ignore...)
		svc.Triggers[i].XDevdIgnore = append([]string(nil), ext.ignore...)
	}

	svc.Watch = len(svc.Triggers) > 0 || len(svc.Debug) > 0
	if ext.watch != nil && *ext.watch && len(svc.Triggers) == 0 {
		warnings = append(warnings, fmt.Sprintf("service %q: x-devd.watch is true but there is nothing to watch: bind-mount a folder of the project or add develop.watch", sc.Name))
	}
	if err := d.checkDockerignore(svc); err != nil {
		return Service{}, nil, err
	}
	return svc, warnings, nil
}

// checkDockerignore reports a pattern of the service's .dockerignore that
// does not parse, when a trigger of the service would apply the file. The
// file is named, since the fault is in it rather than in a Compose file.
func (d *deriver) checkDockerignore(svc Service) error {
	used := false
	for _, t := range svc.Triggers {
		if within(svc.BuildContext, t.Path) && !t.Action.Builds() {
			used = true
		}
	}
	if !used {
		return nil
	}
	for _, p := range svc.DockerignorePatterns {
		if err := watch.CheckPattern(p); err != nil {
			return &ConfigError{
				File:    displayPath(d.projectDir, svc.DockerignoreFile),
				Service: svc.Name,
				Message: fmt.Sprintf("pattern %q does not parse (%v): correct or remove it; devd reads this file as docker build does", p, err),
				Err:     err,
			}
		}
	}
	return nil
}

// build fills the service's build context and .dockerignore patterns.
func (d *deriver) build(sc types.ServiceConfig, svc *Service) error {
	if sc.Build == nil || isRemoteContext(sc.Build.Context) {
		return nil
	}
	buildContext := sc.Build.Context
	if buildContext == "" {
		buildContext = "."
	}
	svc.BuildContext = resolvePath(buildContext, d.project.WorkingDir)

	// BuildKit prefers <Dockerfile>.dockerignore next to the Dockerfile over
	// the context's .dockerignore. The classic builder reads only the latter.
	var candidates []string
	if df := sc.Build.Dockerfile; df != "" && sc.Build.DockerfileInline == "" {
		if !filepath.IsAbs(df) {
			df = filepath.Join(svc.BuildContext, df)
		}
		candidates = append(candidates, df+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(svc.BuildContext, ".dockerignore"))
	for _, c := range candidates {
		patterns, err := d.readIgnore(c)
		if err != nil {
			return &ConfigError{Service: sc.Name, Key: "build", Message: fmt.Sprintf("reading %s: %v", c, err), Err: err}
		}
		if patterns != nil {
			svc.DockerignorePatterns = patterns
			svc.DockerignoreFile = c
			return nil
		}
	}
	return nil
}

// isRemoteContext reports whether a build context is a URL or a Git
// reference rather than a local folder, by the prefixes Compose checks.
func isRemoteContext(context string) bool {
	if strings.Contains(context, "://") || strings.HasPrefix(context, types.ServicePrefix) {
		return true
	}
	for _, prefix := range []string{"github.com/", "git@"} {
		if strings.HasPrefix(context, prefix) {
			return true
		}
	}
	return false
}

// publishedPorts copies a service's `ports` entries. Published is 0 when
// Docker picks the host port, and the first port for a range.
func publishedPorts(ports []types.ServicePortConfig) []PublishedPort {
	var out []PublishedPort
	for _, p := range ports {
		pub, _, _ := strings.Cut(p.Published, "-")
		n, _ := strconv.Atoi(pub)
		out = append(out, PublishedPort{Target: int(p.Target), HostIP: p.HostIP, Published: n})
	}
	return out
}

// resolvePath makes p absolute against base, cleans it and resolves its
// symbolic links. For a path that does not exist, the links of its longest
// existing parent are resolved.
func resolvePath(p, base string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		if base == "" {
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
		} else {
			p = filepath.Join(base, p)
		}
	}
	p = filepath.Clean(p)

	var rest []string
	for dir := p; ; {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return p
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
		dir = parent
	}
}
