//go:build linux

package supervisor

import (
	"fmt"
	"syscall"
	"time"
)

// Bounds of the waits around a stop.
const (
	// killWaitTimeout bounds the wait for the group after SIGKILL; only a
	// process stuck in the kernel (uninterruptible I/O) outlives it.
	killWaitTimeout = 5 * time.Second

	// groupPollInterval re-checks the group while waiting for it, in case a
	// member is not a descendant (then its exit brings no SIGCHLD).
	groupPollInterval = 100 * time.Millisecond

	// outputDrainTimeout bounds the wait for the last output of a command
	// whose output is piped for a log readiness check.
	outputDrainTimeout = time.Second
)

// stopForGood stops the command with sig, as for `docker stop`, and returns
// its exit code, or the last command's when none runs.
func (s *supervisor) stopForGood(sig syscall.Signal) int {
	if s.shutdown == 0 {
		s.shutdown = sig
	}
	if s.child == nil {
		if s.lastExit != nil {
			return s.lastExit.Code
		}
		return 0
	}
	s.log.Info("stopping for good", "signal", signalName(sig))
	st, _ := s.stopGroup(sig)
	return st.Code
}

// finish records that c ended with st and kills what is left of its group:
// a command that ends leaves nothing behind, as when the kernel ends a
// container whose PID 1 exits.
func (s *supervisor) finish(c *child, st ExitStatus) ExitStatus {
	_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	c.drainOutput(outputDrainTimeout)

	s.child = nil
	s.lastExit = &st
	s.mu.Lock()
	s.state.PID, s.state.Running, s.state.LastExit = 0, false, &st
	s.mu.Unlock()
	return st
}

// stopGroup sends sig to the command's process group, waits up to the grace
// period for every member to exit, then kills the group and waits again. It
// returns the main process's exit status and what went wrong on the way.
// The command is recorded as ended.
func (s *supervisor) stopGroup(sig syscall.Signal) (ExitStatus, []string) {
	c := s.child
	var warnings []string
	s.log.Debug("stopping the command", "signal", signalName(sig), "pgid", c.pid)
	_ = syscall.Kill(-c.pid, sig)

	grace := time.NewTimer(s.cfg.Grace)
	defer grace.Stop()
	if !s.waitGroupGone(c.pid, grace.C) {
		s.log.Warn("command still running after the grace period; killing it", "grace", s.cfg.Grace, "pgid", c.pid)
		warnings = append(warnings, fmt.Sprintf("the command did not stop within %s of %s and was killed", s.cfg.Grace, signalName(sig)))
		_ = syscall.Kill(-c.pid, syscall.SIGKILL)
		limit := time.NewTimer(killWaitTimeout)
		defer limit.Stop()
		if !s.waitGroupGone(c.pid, limit.C) {
			msg := fmt.Sprintf("process group %d still has processes %s after SIGKILL", c.pid, killWaitTimeout)
			s.log.Error("process group outlived SIGKILL", "pgid", c.pid, "wait", killWaitTimeout)
			warnings = append(warnings, msg)
		}
	}

	// The main process was in the group, so it has been reaped, unless the
	// reaper has yet to hand over its status or it moved to another group.
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(c.pid, syscall.SIGKILL)
		if !s.waitReaped(c) {
			s.log.Error("process outlived SIGKILL", "pid", c.pid, "wait", killWaitTimeout)
			warnings = append(warnings, fmt.Sprintf("process %d did not exit within %s of SIGKILL", c.pid, killWaitTimeout))
			return s.finish(c, ExitStatus{Code: 128 + int(syscall.SIGKILL), Signal: "SIGKILL"}), warnings
		}
	}
	return s.finish(c, exitStatusOf(c.status)), warnings
}

// waitReaped waits up to killWaitTimeout for the main process of c to be
// reaped, and reports whether it was.
func (s *supervisor) waitReaped(c *child) bool {
	limit := time.NewTimer(killWaitTimeout)
	defer limit.Stop()
	for {
		switch s.await(c.done, nil, nil, limit.C) {
		case awaitWakeA:
			return true
		case awaitDeadline:
			return false
		}
	}
}

// waitGroupGone waits until no process is left in the group pgid, or until
// deadline fires. A shutdown requested meanwhile does not end the wait,
// because the group is being stopped already.
func (s *supervisor) waitGroupGone(pgid int, deadline <-chan time.Time) bool {
	ticker := time.NewTicker(groupPollInterval)
	defer ticker.Stop()
	for {
		changed := s.reaper.changed()
		if groupGone(pgid) {
			return true
		}
		if s.await(changed, nil, ticker.C, deadline) == awaitDeadline {
			return false
		}
	}
}
