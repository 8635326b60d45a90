//go:build linux

package supervisor

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// The controller methods run on HTTP handler goroutines and hand the work
// to the owner goroutine as requests. The owner sends the result on the
// request's reply channel, which is buffered so that the owner never blocks
// on a caller that went away.

// restartRequest is a request for a restart whose readiness wait lasts up
// to timeout.
type restartRequest struct {
	timeout time.Duration
	reply   chan restartReply
}

type restartReply struct {
	res RestartResult
	err error
}

// signalRequest is a request to send sig to the command's group.
type signalRequest struct {
	sig   syscall.Signal
	reply chan error
}

func (s *supervisor) restart(ctx context.Context, readyTimeout time.Duration) (RestartResult, error) {
	req := restartRequest{timeout: readyTimeout, reply: make(chan restartReply, 1)}
	select {
	case s.restarts <- req:
	case <-ctx.Done():
		return RestartResult{}, ctx.Err()
	case <-s.exiting:
		return RestartResult{}, errShuttingDown
	}
	select {
	case r := <-req.reply:
		return r.res, r.err
	case <-ctx.Done():
		return RestartResult{}, ctx.Err()
	}
}

func (s *supervisor) status() StatusResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if st.LastExit != nil {
		exit := *st.LastExit
		st.LastExit = &exit
	}
	return st
}

func (s *supervisor) signal(ctx context.Context, name string) error {
	sig, err := parseSignal(name)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadRequest, err)
	}
	req := signalRequest{sig: sig, reply: make(chan error, 1)}
	select {
	case s.signals <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.exiting:
		return errShuttingDown
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ controller = (*supervisor)(nil)
