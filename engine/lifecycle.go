package engine

import (
	"context"
	"math"
	"time"

	"github.com/docker/docker/api/types/container"
)

// RestartContainer stops the container, waiting up to timeout (rounded up to
// whole seconds, the API's unit) for it to exit before killing it, then
// starts it. A negative timeout means the container's own stop timeout.
//
// The container's stop signal is used. API 1.41 engines ignore a signal
// given with the restart, so none is offered.
func (c *Client) RestartContainer(ctx context.Context, id string, timeout time.Duration) error {
	var opts container.StopOptions
	if timeout >= 0 {
		seconds := int(math.Ceil(timeout.Seconds()))
		opts.Timeout = &seconds
	}
	if err := c.api.ContainerRestart(ctx, id, opts); err != nil {
		return c.wrap(ctx, "restarting", id, err)
	}
	return nil
}

// SignalContainer sends signal ("SIGHUP", "HUP" or "1") to the container's
// main process.
//
// On a container with no configured stop signal, any signal but SIGKILL
// marks the container as stopped by hand: if the process then exits, its
// restart policy does not bring it back.
func (c *Client) SignalContainer(ctx context.Context, id, signal string) error {
	if err := c.api.ContainerKill(ctx, id, signal); err != nil {
		return c.wrap(ctx, "signalling "+signal+" to", id, err)
	}
	return nil
}

// StartContainer starts a created or stopped container. Starting a running
// one does nothing.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	if err := c.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return c.wrap(ctx, "starting", id, err)
	}
	return nil
}
