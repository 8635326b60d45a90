// Package engine is devd's only wrapper of the Docker Engine API client. It
// finds the engine like the docker CLI does and offers the few container
// operations devd needs, with errors that name the container and the fix.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// pingTimeout bounds the first contact with the engine, so a dead socket or a
// firewalled tcp host fails fast instead of hanging devd's start.
const pingTimeout = 5 * time.Second

// describeTimeout bounds the extra inspect that only names a container in an
// error message.
const describeTimeout = 2 * time.Second

var (
	// ErrUnreachable means the engine did not respond to a ping. Connect wraps
	// it in an error that names the host, where the host came from, and the fix.
	ErrUnreachable = errors.New("cannot reach the Docker engine")

	// ErrNotFound means the engine does not know the container or the path.
	ErrNotFound = errors.New("not found")

	// ErrNotRunning means the operation (an exec) needs a running container.
	ErrNotRunning = errors.New("container is not running")

	// ErrNoSpace means the file system that a copy writes to in the
	// container is full (ENOSPC) or over a quota (EDQUOT). Freeing space
	// there lets the same copy succeed.
	ErrNoSpace = errors.New("no space left in the container")
)

// Client talks to one Docker engine with a negotiated API version.
//
// A Client is safe for concurrent use by several goroutines, because its
// fields are set by Connect and never change. The caller calls Close once.
type Client struct {
	api      *client.Client
	endpoint Endpoint
	native   bool
}

// Connect builds a client for ep and pings the engine, so that an engine that
// does not respond is reported now, with the fix, rather than at first use.
//
// When ep comes from DOCKER_HOST and is a tcp address, DOCKER_CERT_PATH and
// DOCKER_TLS_VERIFY are read from the process environment, like the docker CLI.
func Connect(ctx context.Context, ep Endpoint) (*Client, error) {
	hostURL, err := client.ParseHostURL(ep.Host)
	if err != nil {
		return nil, fmt.Errorf("parsing docker host %q (from %s): %w", ep.Host, ep.Source, err)
	}
	if hostURL.Scheme == "ssh" {
		// NOTE: ssh:// endpoints need the docker CLI's connection helper
		// (`docker system dial-stdio` over ssh), which devd does not carry.
		return nil, fmt.Errorf("connecting to docker host %s (from %s): ssh endpoints are not supported; forward the engine socket with `ssh -L` and set DOCKER_HOST to it", ep.Host, ep.Source)
	}

	var opts []client.Opt
	if ep.Source == "DOCKER_HOST" && hostURL.Scheme == "tcp" {
		// It replaces the HTTP client, so it must come before WithHost.
		opts = append(opts, client.WithTLSClientConfigFromEnv())
	}
	opts = append(opts, client.WithHost(ep.Host), client.WithAPIVersionNegotiation())
	api, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating docker client for %s (from %s): %w", ep.Host, ep.Source, err)
	}

	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := api.Ping(pingCtx); err != nil {
		_ = api.Close()
		return nil, fmt.Errorf("%w at %s (from %s): %w; start Docker, or set DOCKER_HOST / `docker context use` to the engine to use",
			ErrUnreachable, ep.Host, ep.Source, err)
	}

	c := &Client{api: api, endpoint: ep}
	c.native = hostURL.Scheme == "unix" && runtime.GOOS == "linux" && isNativeEngine(pingCtx, api)
	return c, nil
}

// isNativeEngine distinguishes an engine running directly on this host from
// one in a VM or a user namespace behind a local socket (Docker Desktop,
// colima, rootless), whose container addresses the host cannot route to. Any
// doubt gives false, so callers use published ports, which work everywhere.
func isNativeEngine(ctx context.Context, api *client.Client) bool {
	info, err := api.Info(ctx)
	if err != nil {
		return false
	}
	if strings.Contains(info.OperatingSystem, "Docker Desktop") {
		return false
	}
	if slices.Contains(info.SecurityOptions, "name=rootless") {
		return false
	}
	hostname, err := os.Hostname()
	return err == nil && hostname == info.Name
}

// Ping checks that the engine responds.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.Ping(ctx); err != nil {
		return fmt.Errorf("pinging docker engine at %s: %w", c.endpoint.Host, err)
	}
	return nil
}

// Endpoint returns the engine address the client was built for.
func (c *Client) Endpoint() Endpoint {
	return c.endpoint
}

// HostCanReachContainerIPs reports whether this host can open connections to
// container IP addresses: true only for a native engine on Linux reached
// through a unix socket. For tcp and ssh hosts, other operating systems,
// Docker Desktop and rootless engines it returns false: use published ports.
func (c *Client) HostCanReachContainerIPs() bool {
	return c.native
}

// Close releases the client's connections.
func (c *Client) Close() error {
	if err := c.api.Close(); err != nil {
		return fmt.Errorf("closing docker client: %w", err)
	}
	return nil
}

// describe names a container for an error message as "short-id (name)". It
// costs an inspect, so it is only called once something has failed.
func (c *Client) describe(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), describeTimeout)
	defer cancel()
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil || info.ContainerJSONBase == nil {
		return ShortID(id)
	}
	return fmt.Sprintf("%s (%s)", ShortID(info.ID), strings.TrimPrefix(info.Name, "/"))
}

// wrap adds "verb-ing container <id> (<name>)" to err, and ErrNotFound when
// the engine reports that the container or path does not exist, or
// ErrNoSpace when it reports a full file system.
func (c *Client) wrap(ctx context.Context, verb, id string, err error) error {
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s container %s: %w: %w", verb, c.describe(ctx, id), ErrNotFound, err)
	case isNoSpace(err):
		return fmt.Errorf("%s container %s: %w: %w", verb, c.describe(ctx, id), ErrNoSpace, err)
	}
	return fmt.Errorf("%s container %s: %w", verb, c.describe(ctx, id), err)
}

// noSpaceTexts are the C library's messages for ENOSPC and EDQUOT. The
// engine reports a full file system only as text in a 500 response, such as
// "Error response from daemon: Error processing tar file(exit status 1):
// write /data/big: no space left on device" (Docker 20.10).
var noSpaceTexts = []string{"no space left on device", "disk quota exceeded"}

// isNoSpace reports whether an engine error message matches a full file
// system in the container.
func isNoSpace(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, s := range noSpaceTexts {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// ShortID returns the 12-character form of a full container id, and any
// other string (a name, an already short id) unchanged.
func ShortID(id string) string {
	const full, short = 64, 12
	if len(id) != full {
		return id
	}
	for _, r := range id {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return id
		}
	}
	return id[:short]
}
