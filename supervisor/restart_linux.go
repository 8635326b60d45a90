//go:build linux

package supervisor

import (
	"fmt"
	"time"
)

// serveRestart serves req and every restart request already waiting behind
// it with one restart. Requests that arrived while an earlier restart ran
// are all satisfied by this one, because it starts after each of them
// arrived. So several quick requests give one more start, never two
// processes.
func (s *supervisor) serveRestart(req restartRequest) {
	batch := []restartRequest{req}
	timeout := req.timeout
	for more := true; more; {
		select {
		case r := <-s.restarts:
			batch = append(batch, r)
			timeout = max(timeout, r.timeout)
		default:
			more = false
		}
	}

	res, err := s.restartOnce(timeout)
	if err != nil {
		s.log.Error("restart failed", "error", err)
	}
	for _, r := range batch {
		r.reply <- restartReply{res: res, err: err}
	}
}

// restartOnce stops the command, waits for its ports, starts it again and
// waits up to readyTimeout for the readiness check.
func (s *supervisor) restartOnce(readyTimeout time.Duration) (RestartResult, error) {
	var res RestartResult
	begin := time.Now()
	if s.child != nil {
		_, warnings := s.stopGroup(s.stopSig)
		res.Warnings = append(res.Warnings, warnings...)
	}
	if s.shutdown != 0 {
		return res, errShuttingDown
	}
	warnings, ok := s.waitPortsFree()
	res.Warnings = append(res.Warnings, warnings...)
	if !ok {
		return res, errShuttingDown
	}
	res.StopMS = time.Since(begin).Milliseconds()

	if err := s.start(); err != nil {
		return res, err
	}
	c := s.child
	res.PID = c.pid
	res.StartMS = time.Since(c.started).Milliseconds()
	s.mu.Lock()
	s.state.Restarts++
	s.mu.Unlock()

	ready, err := s.waitReady(c, readyTimeout)
	res.Ready = ready
	if s.ready.kind != readyNone {
		res.ReadyMS = time.Since(c.started).Milliseconds()
	}
	s.log.Info("restarted", "pid", c.pid, "stop_ms", res.StopMS, "ready", ready, "ready_ms", res.ReadyMS)
	return res, err
}

// waitReady waits up to timeout for c to pass the readiness check. No check
// means ready at once. A command that exits first is an error; the owner's
// loop then ends the supervisor with its status.
func (s *supervisor) waitReady(c *child, timeout time.Duration) (bool, error) {
	var passed <-chan struct{}
	switch s.ready.kind {
	case readyNone:
		return true, nil
	case readyLog:
		passed = c.matcher.matched
	default:
		p := startPoller(s.ready, readyPollInterval)
		defer p.stop()
		passed = p.ready
	}

	limit := time.NewTimer(timeout)
	defer limit.Stop()
	switch s.await(passed, c.done, nil, limit.C) {
	case awaitWakeA:
		return true, nil
	case awaitWakeB:
		st := exitStatusOf(c.status)
		return false, fmt.Errorf("the command exited with code %d%s before it was ready", st.Code, signalSuffix(st))
	case awaitShutdown:
		return false, errShuttingDown
	}
	s.log.Warn("command not ready in time", "timeout", timeout, "ready", s.cfg.Ready)
	return false, nil
}

func signalSuffix(st ExitStatus) string {
	if st.Signal == "" {
		return ""
	}
	return " (" + st.Signal + ")"
}
