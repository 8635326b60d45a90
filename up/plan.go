// Package up prepares a Compose project for `devd up`, which runs it under
// devd's supervisor. It finds a static Linux devd binary on the host,
// creates a control folder per service, and writes a Compose override file
// that puts the supervisor in front of each watched service's command. It
// also runs the user's own `docker compose` with that override.
package up

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
)

// Paths in the container, shared with the supervisor (supervisor.BinaryPath
// and supervisor.ControlDir).
const (
	containerBinary     = "/.devd/devd-supervisor"
	containerControlDir = "/.devd/run"
)

// SupervisorLabel marks a container that runs devd's supervisor; its value
// is SupervisorLabelValue.
const (
	SupervisorLabel      = "dev.devd.supervisor"
	SupervisorLabelValue = "1"
)

// Supervised reports whether `devd up` runs the service under devd's
// supervisor: a watched service that does not opt out with
// `x-devd.supervise: false`.
func Supervised(s compose.Service) bool {
	return s.Watch && (s.Supervise == nil || *s.Supervise)
}

// ImageName returns the image a service's containers run: its `image`, or
// the name Compose gives the image it builds, "<project>-<service>".
func ImageName(project string, sc types.ServiceConfig) string {
	if sc.Image != "" {
		return sc.Image
	}
	return project + "-" + sc.Name
}

// NeedsImage reports whether the image's ENTRYPOINT and CMD take part in
// what the service runs. They do not when Compose sets a non-empty
// `entrypoint`: the engine then ignores the image's CMD as well.
func NeedsImage(sc types.ServiceConfig) bool {
	return len(sc.Entrypoint) == 0
}

// Wrap is the command line `devd up` gives one service.
type Wrap struct {
	// Service is the service name.
	Service string
	// Entrypoint is the supervisor's command line, ending with "--",
	// followed by the service's own entrypoint.
	Entrypoint []string
	// Command is the service's command, after the entrypoint.
	Command []string
	// Notes are messages for the user about what could not be done, such
	// as a debug flag that could not be added to the command.
	Notes []string
}

// Plan returns the Wrap of each supervised service of services, sorted by
// service name. p is the project as compose-go loaded it. images contains
// the configuration of each supervised service's image, except that a
// service whose NeedsImage is false may be missing.
func Plan(p *types.Project, services []compose.Service, images map[string]engine.ImageConfig) ([]Wrap, error) {
	if p == nil {
		return nil, fmt.Errorf("planning the supervisor override: no project")
	}
	sorted := slices.Clone(services)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	var wraps []Wrap
	for _, svc := range sorted {
		if !Supervised(svc) {
			continue
		}
		sc, ok := p.Services[svc.Name]
		if !ok {
			return nil, fmt.Errorf("planning the supervisor override: service %q is not in the project", svc.Name)
		}
		img, ok := images[svc.Name]
		if !ok && NeedsImage(sc) {
			return nil, fmt.Errorf("planning the supervisor override: the configuration of image %s of service %q is not known", ImageName(p.Name, sc), svc.Name)
		}
		w, err := plan(svc, sc, img, ImageName(p.Name, sc))
		if err != nil {
			return nil, err
		}
		wraps = append(wraps, w)
	}
	return wraps, nil
}

// plan wraps one service's command.
func plan(svc compose.Service, sc types.ServiceConfig, img engine.ImageConfig, image string) (Wrap, error) {
	prog := resolve(sc.Entrypoint, sc.Command, img)
	if len(prog.entrypoint)+len(prog.command) == 0 {
		return Wrap{}, fmt.Errorf("service %q has no command: neither the Compose file nor image %s sets one: set command: in the Compose file", svc.Name, image)
	}

	w := Wrap{Service: svc.Name}
	w.Notes = append(w.Notes, prog.debugNode(svc, sc)...)
	w.Notes = append(w.Notes, prog.debugGo(svc)...)

	args := []string{containerBinary, "supervise",
		"--service", svc.Name,
		"--stop-signal", svc.StopSignal,
		"--grace", svc.StopGracePeriod.String(),
	}
	for _, port := range ports(svc, sc, img) {
		args = append(args, "--port", strconv.Itoa(port))
	}
	if svc.Ready != "" {
		args = append(args, "--ready", svc.Ready)
	}
	for _, root := range syncRoots(svc) {
		args = append(args, "--sync-root", root)
	}
	args = append(args, "--")
	w.Entrypoint = append(args, prog.entrypoint...)
	w.Command = prog.command
	return w, nil
}

// syncRoots returns the container paths that devd copies files to for svc:
// the targets of its syncing triggers and of its host build, in order and
// without duplicates.
func syncRoots(svc compose.Service) []string {
	var roots []string
	add := func(p string) {
		if p != "" && p != "/" && !slices.Contains(roots, p) {
			roots = append(roots, p)
		}
	}
	for _, t := range svc.Triggers {
		if t.Action.Syncs() && !t.BindMounted {
			add(path.Clean(t.Target))
		}
	}
	if svc.Build != nil {
		add(path.Clean(svc.Build.Target))
	}
	return roots
}

// program is a container's entrypoint and command, as the engine joins
// them into the command line of its first process.
type program struct {
	entrypoint []string
	command    []string
}

// resolve returns what a container runs, following the engine's rules: a
// non-empty Compose entrypoint replaces the image's ENTRYPOINT and drops its
// CMD; otherwise the Compose command, or the image's CMD, follows the
// image's ENTRYPOINT. An empty but set entrypoint (`entrypoint: []`) clears
// the image's ENTRYPOINT and keeps its CMD.
func resolve(entrypoint, command types.ShellCommand, img engine.ImageConfig) program {
	if len(entrypoint) > 0 {
		return program{entrypoint: slices.Clone(entrypoint), command: slices.Clone(command)}
	}
	p := program{command: slices.Clone(command)}
	if len(p.command) == 0 {
		p.command = slices.Clone(img.Cmd)
	}
	if entrypoint == nil {
		p.entrypoint = slices.Clone(img.Entrypoint)
	}
	return p
}

// argv returns the whole command line.
func (p *program) argv() []string {
	return append(slices.Clone(p.entrypoint), p.command...)
}

// replace puts a new word list in place of the word at i of the whole
// command line, in the entrypoint or the command, whichever holds it.
func (p *program) replace(i int, words ...string) {
	if i < len(p.entrypoint) {
		p.entrypoint = slices.Replace(p.entrypoint, i, i+1, words...)
		return
	}
	i -= len(p.entrypoint)
	p.command = slices.Replace(p.command, i, i+1, words...)
}

// maxPortRange is the widest `expose` range whose ports are passed to the
// supervisor one by one. Wider ranges are left out, so the command line
// stays short.
const maxPortRange = 64

// ports returns the TCP ports the service listens on, sorted: the targets
// of `ports`, `expose`, the image's EXPOSE and the debug ports. The
// supervisor waits for them to be free before it starts a new process.
func ports(svc compose.Service, sc types.ServiceConfig, img engine.ImageConfig) []int {
	set := map[int]bool{}
	for _, p := range sc.Ports {
		if p.Protocol == "" || p.Protocol == "tcp" {
			set[int(p.Target)] = true
		}
	}
	for _, e := range sc.Expose {
		spec, proto, _ := strings.Cut(e, "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		lo, hi, isRange := strings.Cut(spec, "-")
		first, err1 := strconv.Atoi(lo)
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || first < 1 || last < first || last-first >= maxPortRange {
			continue
		}
		for n := first; n <= last; n++ {
			set[n] = true
		}
	}
	for _, p := range img.ExposedPorts {
		set[p] = true
	}
	for _, d := range svc.Debug {
		set[d.Port] = true
	}
	delete(set, 0)
	out := make([]int, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}
