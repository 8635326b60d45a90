package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
)

// ImageConfig is the default process configuration of an image, which
// `devd up` needs to put devd's supervisor in front of a service's command.
type ImageConfig struct {
	// Entrypoint and Cmd are the image's ENTRYPOINT and CMD, nil when the
	// image sets none.
	Entrypoint []string
	Cmd        []string
	// User is the image's USER, empty for root.
	User string
	// WorkingDir is the image's WORKDIR, empty for /.
	WorkingDir string
	// ExposedPorts are the TCP ports of the image's EXPOSE, sorted.
	ExposedPorts []int
	// Arch and OS are the platform the image is built for, as Go names
	// them ("amd64", "linux").
	Arch string
	OS   string
}

// ImageConfig inspects a local image. An image the engine does not have is
// an error that wraps ErrNotFound: build or pull it first.
func (c *Client) ImageConfig(ctx context.Context, image string) (ImageConfig, error) {
	info, err := c.api.ImageInspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		return ImageConfig{}, fmt.Errorf("inspecting image %s: %w: build or pull it first", image, ErrNotFound)
	}
	if err != nil {
		return ImageConfig{}, fmt.Errorf("inspecting image %s: %w", image, err)
	}
	cfg := ImageConfig{Arch: info.Architecture, OS: info.Os}
	if info.Config != nil {
		cfg.Entrypoint = info.Config.Entrypoint
		cfg.Cmd = info.Config.Cmd
		cfg.User = info.Config.User
		cfg.WorkingDir = info.Config.WorkingDir
		cfg.ExposedPorts = tcpPorts(info.Config.ExposedPorts)
	}
	return cfg, nil
}

// tcpPorts returns the TCP ports of an image's exposed port set, whose
// keys read "3000/tcp", "53/udp" or "3000" (TCP).
func tcpPorts(exposed map[string]struct{}) []int {
	var ports []int
	for key := range exposed {
		port, proto, _ := strings.Cut(key, "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		if n, err := strconv.Atoi(port); err == nil && n > 0 {
			ports = append(ports, n)
		}
	}
	sort.Ints(ports)
	return ports
}

// Info describes the engine's host, as far as `devd up` needs to know it.
type Info struct {
	// OS is the engine's operating system for containers, "linux" or
	// "windows".
	OS string
	// Arch is the engine host's architecture as Go names it ("amd64",
	// "arm64"); the kernel's own name when Go has no name for it.
	Arch string
	// DockerDesktop is true for Docker Desktop, whose engine runs in a VM
	// that reaches host folders only through file sharing.
	DockerDesktop bool
	// Rootless is true for an engine that runs in a user namespace, where
	// container user ids map to the host user's subordinate ids.
	Rootless bool
}

// ServerInfo returns the engine's container OS, architecture and kind.
func (c *Client) ServerInfo(ctx context.Context) (Info, error) {
	info, err := c.api.Info(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("reading docker engine information from %s: %w", c.endpoint.Host, err)
	}
	return Info{
		OS:            info.OSType,
		Arch:          goArch(info.Architecture),
		DockerDesktop: strings.Contains(info.OperatingSystem, "Docker Desktop"),
		Rootless:      slices.Contains(info.SecurityOptions, "name=rootless"),
	}, nil
}

// kernelArches maps `uname -m` names, which the engine reports, to Go's.
var kernelArches = map[string]string{
	"x86_64":  "amd64",
	"amd64":   "amd64",
	"aarch64": "arm64",
	"arm64":   "arm64",
	"armv7l":  "arm",
	"armv6l":  "arm",
	"i386":    "386",
	"i686":    "386",
	"ppc64le": "ppc64le",
	"s390x":   "s390x",
	"riscv64": "riscv64",
}

// goArch returns Go's name for a kernel architecture name, or the name
// unchanged when Go has none.
func goArch(kernel string) string {
	if a, ok := kernelArches[kernel]; ok {
		return a
	}
	return kernel
}
