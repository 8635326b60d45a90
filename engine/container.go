package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// Compose labels that identify a service container. devd keys containers by
// these, never by name: a recreate renames containers on the way.
const (
	LabelProject    = "com.docker.compose.project"
	LabelService    = "com.docker.compose.service"
	LabelNumber     = "com.docker.compose.container-number"
	LabelOneoff     = "com.docker.compose.oneoff"
	LabelConfigHash = "com.docker.compose.config-hash"
)

// Container is the part of an inspected container that devd uses.
type Container struct {
	ID      string
	Name    string // without the leading slash
	Project string // Compose project label, empty for other containers
	Service string // Compose service label
	Number  int    // Compose container number, 0 when absent

	State   string // running, exited, created, paused, restarting, dead
	Running bool
	Paused  bool

	// StartedAt is the last start, zero if the container never started.
	StartedAt time.Time
	// ExitCode is the exit code of the last run; OOMKilled is true when the
	// kernel killed it for memory.
	ExitCode  int
	OOMKilled bool
	// RestartPolicy is the engine's restart policy name ("no", "always",
	// "unless-stopped", "on-failure"); empty means "no".
	RestartPolicy string

	User string // Config.User; empty means the image's user

	// IPs holds one address per attached network, ordered by network name.
	// Networks without an address (host, none) are left out.
	IPs []string

	// Ports holds the published ports, ordered by container port, protocol
	// and host address.
	Ports []PortBinding

	StopSignal  string // empty means SIGTERM
	StopTimeout *int   // seconds; nil means the engine's default (10 s)

	Labels map[string]string

	// ReadOnlyRootfs is Compose's read_only: the engine then rejects every
	// archive copy outside volumes.
	ReadOnlyRootfs bool

	// Mounts holds the container's volumes, bind mounts and tmpfs mounts
	// (from both the tmpfs key and tmpfs-type mounts), ordered by
	// destination.
	Mounts []Mount
}

// Mount is one file system mounted into a container.
type Mount struct {
	Type        string // volume, bind, tmpfs, npipe or cluster
	Destination string // absolute path in the container
	ReadOnly    bool
}

// PortBinding is one container port published on the host.
type PortBinding struct {
	ContainerPort int
	Proto         string // tcp, udp or sctp
	HostIP        string // empty or 0.0.0.0 means every host address
	HostPort      int
}

// ProjectContainers returns every container of a Compose project, running or
// not, with Compose's own filter: the project label, not a one-off
// (`docker compose run`) container, and a config-hash label present. They
// are ordered by service and number. Containers removed while listing are
// left out.
func (c *Client) ProjectContainers(ctx context.Context, project string) ([]Container, error) {
	list, err := c.api.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(
			filters.Arg("label", LabelProject+"="+project),
			filters.Arg("label", LabelOneoff+"=False"),
			filters.Arg("label", LabelConfigHash),
		),
	})
	if err != nil {
		return nil, fmt.Errorf("listing containers of project %s: %w", project, err)
	}

	containers := make([]Container, 0, len(list))
	for _, summary := range list {
		ctr, err := c.InspectContainer(ctx, summary.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing containers of project %s: %w", project, err)
		}
		containers = append(containers, ctr)
	}
	slices.SortFunc(containers, func(a, b Container) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Number, b.Number), cmp.Compare(a.ID, b.ID))
	})
	return containers, nil
}

// InspectContainer returns one container by id or name. An unknown container
// gives an error wrapping ErrNotFound.
func (c *Client) InspectContainer(ctx context.Context, id string) (Container, error) {
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return Container{}, c.wrap(ctx, "inspecting", id, err)
	}
	return fromInspect(info), nil
}

// fromInspect keeps what devd uses of an inspect response. The engine may
// leave any of its pointers nil.
func fromInspect(info container.InspectResponse) Container {
	var ctr Container
	if base := info.ContainerJSONBase; base != nil {
		ctr.ID = base.ID
		ctr.Name = strings.TrimPrefix(base.Name, "/")
		if state := base.State; state != nil {
			ctr.State = string(state.Status)
			ctr.Running = state.Running
			ctr.Paused = state.Paused
			ctr.StartedAt = parseEngineTime(state.StartedAt)
			ctr.ExitCode = state.ExitCode
			ctr.OOMKilled = state.OOMKilled
		}
	}
	if cfg := info.Config; cfg != nil {
		ctr.User = cfg.User
		ctr.StopSignal = cfg.StopSignal
		ctr.StopTimeout = cfg.StopTimeout
		ctr.Labels = cfg.Labels
	}
	ctr.Project = ctr.Labels[LabelProject]
	ctr.Service = ctr.Labels[LabelService]
	ctr.Number, _ = strconv.Atoi(ctr.Labels[LabelNumber])

	if ns := info.NetworkSettings; ns != nil {
		ctr.IPs = networkIPs(ns)
		ctr.Ports = portBindings(ns)
	}
	if base := info.ContainerJSONBase; base != nil && base.HostConfig != nil {
		ctr.ReadOnlyRootfs = base.HostConfig.ReadonlyRootfs
		ctr.RestartPolicy = string(base.HostConfig.RestartPolicy.Name)
	}
	ctr.Mounts = mounts(info)
	return ctr
}

// mounts merges the inspected mount points with the tmpfs key of the host
// configuration, which the engine does not list among them.
func mounts(info container.InspectResponse) []Mount {
	var out []Mount
	seen := map[string]bool{}
	for _, m := range info.Mounts {
		out = append(out, Mount{Type: string(m.Type), Destination: m.Destination, ReadOnly: !m.RW})
		seen[m.Destination] = true
	}
	if base := info.ContainerJSONBase; base != nil && base.HostConfig != nil {
		for dst, opts := range base.HostConfig.Tmpfs {
			if !seen[dst] {
				out = append(out, Mount{Type: "tmpfs", Destination: dst, ReadOnly: slices.Contains(strings.Split(opts, ","), "ro")})
			}
		}
	}
	slices.SortFunc(out, func(a, b Mount) int { return cmp.Compare(a.Destination, b.Destination) })
	return out
}

// parseEngineTime reads the engine's RFC 3339 times. The engine writes
// 0001-01-01T00:00:00Z for "never", which parses to the zero time.
func parseEngineTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return time.Time{}
	}
	return t
}

func networkIPs(ns *container.NetworkSettings) []string {
	var ips []string
	for _, name := range slices.Sorted(maps.Keys(ns.Networks)) {
		if ep := ns.Networks[name]; ep != nil && ep.IPAddress != "" {
			ips = append(ips, ep.IPAddress)
		}
	}
	return ips
}

func portBindings(ns *container.NetworkSettings) []PortBinding {
	var ports []PortBinding
	for port, bindings := range ns.Ports {
		for _, b := range bindings {
			hostPort, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			ports = append(ports, PortBinding{
				ContainerPort: port.Int(),
				Proto:         port.Proto(),
				HostIP:        b.HostIP,
				HostPort:      hostPort,
			})
		}
	}
	slices.SortFunc(ports, func(a, b PortBinding) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Proto, b.Proto),
			cmp.Compare(a.HostIP, b.HostIP), cmp.Compare(a.HostPort, b.HostPort))
	})
	return ports
}
