package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/go-hclog"
)

// Load is LoadModel without compose-go's model.
func Load(ctx context.Context, opts Options, log hclog.Logger) (*Project, error) {
	p, _, err := LoadModel(ctx, opts, log)
	return p, err
}

// LoadModel loads the Compose project selected by opts the way `docker
// compose` does (same file discovery, `.env`, COMPOSE_FILE,
// COMPOSE_PROJECT_NAME, COMPOSE_PROFILES, -f, -p, --project-directory,
// --profile, --env-file) and derives devd's rules for the selected
// services. It also returns the project as compose-go loaded it, with paths
// resolved and every enabled service, for callers that need Compose's own
// fields (`devd up` reads the entrypoint, command and ports). Warnings from compose-go and from
// deriving the rules are logged to log; nil discards them.
//
// As in Compose, the services named in opts.Services are enabled with their
// profiles.
//
// Configuration errors are *ConfigError; when no Compose file is found, the
// error wraps ErrNoComposeFile. LoadModel may be called from several
// goroutines.
func LoadModel(ctx context.Context, opts Options, log hclog.Logger) (*Project, *types.Project, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("loading compose project: %w", err)
	}

	base := opts.WorkingDir
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, fmt.Errorf("getting current directory: %w", err)
		}
		base = wd
	}
	base, err := filepath.Abs(base)
	if err != nil {
		return nil, nil, fmt.Errorf("resolving working directory %s: %w", opts.WorkingDir, err)
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	environ = dropEmpty(environ, consts.ComposeFilePath, consts.ComposeProjectName)
	for _, f := range opts.Files {
		if f == "-" {
			return nil, nil, &ConfigError{Message: "reading the Compose file from standard input is not supported: devd reloads the project when its files change, so pass a file with -f"}
		}
	}

	restore := routeLogrus(log)
	defer restore()

	po, loaded, err := projectOptions(opts, base, environ)
	if err != nil {
		return nil, nil, err
	}
	project, err := po.LoadProject(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("loading compose project: %w", ctxErr)
		}
		return nil, nil, loadError(err, po.ConfigPaths, po.WorkingDir)
	}
	// As `docker compose up SERVICE` does, a service named on the command
	// line is enabled with its profiles.
	project, err = project.WithServicesEnabled(opts.Services...)
	if err != nil {
		return nil, nil, &ConfigError{Message: err.Error(), Err: err}
	}

	services, warnings, err := Derive(project, opts.Services, ReadIgnoreFile)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) && ce.Service != "" && ce.Key != "" {
			if f := locateKey(project.ComposeFiles, ce.Service, ce.Key); f != "" {
				ce.File = displayPath(project.WorkingDir, f)
			}
		}
		return nil, nil, err
	}
	for _, w := range warnings {
		log.Warn("compose configuration warning", "detail", w)
	}

	p := &Project{
		Name:         project.Name,
		WorkingDir:   project.WorkingDir,
		ConfigFiles:  configFiles(project.ComposeFiles, loaded.includes),
		ComposeFiles: configFiles(project.ComposeFiles, nil),
		EnvFiles:     existingFiles(loaded.envFiles),
		Services:     services,
	}
	log.Debug("compose project loaded", "project", p.Name, "working_dir", p.WorkingDir,
		"config_files", p.ConfigFiles, "service_count", len(p.Services))
	return p, project, nil
}

// loadedFiles collects the files compose-go reads besides the Compose files
// given to it, so devd can reload the project when one changes.
type loadedFiles struct {
	envFiles []string
	includes []string
}

// projectOptions builds compose-go's project options in the order the
// Compose CLI applies them: working directory, OS environment, env files,
// COMPOSE_FILE, default file search, env files of the project directory,
// profiles, name.
func projectOptions(opts Options, base string, environ []string) (*cli.ProjectOptions, *loadedFiles, error) {
	files := absAll(base, opts.Files)
	envFiles := absAll(base, opts.EnvFiles)
	projectDir := ""
	if opts.ProjectDirectory != "" {
		projectDir = absTo(base, opts.ProjectDirectory)
	}
	loaded := &loadedFiles{}

	fns := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(projectDir),
		// Options.Environ replaces the OS environment.
		cli.WithEnv(environ),
	}
	if !hasEnv(environ, "PWD") {
		fns = append(fns, cli.WithEnv([]string{"PWD=" + base}))
	}
	fns = append(fns,
		loaded.recordEnvFiles(inBase(base, cli.WithEnvFiles(envFiles...))),
		cli.WithDotEnv,
		composeFileEnvIn(base),
		inBase(base, cli.WithDefaultConfigPath),
		// The project directory may differ from the current one: read its
		// .env as well.
		loaded.recordEnvFiles(inBase(base, cli.WithEnvFiles(envFiles...))),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(opts.Profiles...),
	)
	if opts.ProjectName != "" {
		fns = append(fns, cli.WithName(opts.ProjectName))
	}
	fns = append(fns,
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)

	po, err := cli.NewProjectOptions(files, fns...)
	if err != nil {
		return nil, nil, &ConfigError{Message: err.Error(), Err: err}
	}
	if len(po.ConfigPaths) == 0 {
		dir := base
		if projectDir != "" {
			dir = projectDir
		}
		return nil, nil, &ConfigError{
			Message: fmt.Sprintf("no Compose file was found in %s or its parents: run devd in the project folder or pass -f", dir),
			Err:     ErrNoComposeFile,
		}
	}
	po.WithListeners(loaded.listen)
	return po, loaded, nil
}

// inBase runs a compose-go option with base as its fallback directory.
// compose-go falls back to the process's current directory when neither a
// project directory nor a Compose file is known yet, and Options.WorkingDir
// replaces that directory.
func inBase(base string, fn cli.ProjectOptionsFn) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		if o.WorkingDir != "" || len(o.ConfigPaths) > 0 {
			return fn(o)
		}
		o.WorkingDir = base
		defer func() { o.WorkingDir = "" }()
		return fn(o)
	}
}

// composeFileEnvIn applies cli.WithConfigFileEnv with the relative entries
// of COMPOSE_FILE taken relative to base rather than to the process's
// current directory. The environment is left as it was.
func composeFileEnvIn(base string) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		value, ok := o.Environment[consts.ComposeFilePath]
		if !ok || len(o.ConfigPaths) > 0 {
			return cli.WithConfigFileEnv(o)
		}
		sep := o.Environment[consts.ComposePathSeparator]
		if sep == "" {
			sep = string(os.PathListSeparator)
		}
		entries := strings.Split(value, sep)
		for i, e := range entries {
			if e != "" && e != "-" && !strings.Contains(e, "://") {
				entries[i] = absTo(base, e)
			}
		}
		o.Environment[consts.ComposeFilePath] = strings.Join(entries, sep)
		defer func() { o.Environment[consts.ComposeFilePath] = value }()
		return cli.WithConfigFileEnv(o)
	}
}

// recordEnvFiles notes the env files an option selects.
func (l *loadedFiles) recordEnvFiles(fn cli.ProjectOptionsFn) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		if err := fn(o); err != nil {
			return err
		}
		l.envFiles = append(l.envFiles, o.EnvFiles...)
		return nil
	}
}

// listen is a compose-go load listener that notes included files.
func (l *loadedFiles) listen(event string, metadata map[string]any) {
	if event != "include" {
		return
	}
	dir, _ := metadata["workingdir"].(string)
	paths, _ := metadata["path"].(types.StringList)
	for _, p := range paths {
		if strings.Contains(p, "://") {
			continue
		}
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		l.includes = append(l.includes, filepath.Clean(p))
	}
}

// configFiles returns the Compose files then the included ones, absolute
// and without duplicates.
func configFiles(compose, includes []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range append(append([]string(nil), compose...), includes...) {
		if f == "" || f == "-" {
			continue
		}
		if abs, err := filepath.Abs(f); err == nil {
			f = abs
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// existingFiles returns the absolute paths of the files that exist, once
// each.
func existingFiles(files []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil || seen[abs] {
			continue
		}
		if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
			seen[abs] = true
			out = append(out, abs)
		}
	}
	return out
}

func absAll(base string, paths []string) []string {
	if len(paths) == 0 {
		return nil
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = absTo(base, p)
	}
	return out
}

func absTo(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// dropEmpty removes the named variables when they are set to an empty
// value. An empty COMPOSE_FILE would otherwise name the working directory
// as a Compose file.
func dropEmpty(environ []string, names ...string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" && slices.Contains(names, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func hasEnv(environ []string, name string) bool {
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}
