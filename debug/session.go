package debug

import "slices"

// maxRecentTargets bounds how many inspector target ids a Proxy remembers.
// One process has one target, so this covers many restarts.
const maxRecentTargets = 64

// CDP events that tell a debugger the process stopped or went on.
const (
	methodPaused  = "Debugger.paused"
	methodResumed = "Debugger.resumed"
)

// session is one open inspector WebSocket session.
type session struct {
	remote string
	paused bool // guarded by Proxy.mu
}

// recentTargets holds the inspector target ids the Proxy has seen, oldest
// first, at most maxRecentTargets.
type recentTargets []string

func (r *recentTargets) add(ids ...string) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if i := slices.Index(*r, id); i >= 0 {
			*r = slices.Delete(*r, i, i+1)
		}
		*r = append(*r, id)
	}
	if extra := len(*r) - maxRecentTargets; extra > 0 {
		*r = slices.Delete(*r, 0, extra)
	}
}

func (r recentTargets) has(id string) bool {
	return slices.Contains(r, id)
}

// Debuggers returns the number of inspector sessions (WebSocket
// connections) open through the Proxy. Connections forwarded as bytes, as
// Delve's are, are not counted here; Connections counts them.
func (p *Proxy) Debuggers() int {
	p.mu.Lock()
	defer p.mu.Unlock()

	return len(p.sessions)
}

// Paused reports whether the debug target told a debugger attached through
// the Proxy that the process is paused (at a breakpoint, a debugger
// statement or a pause request), and the process has not been resumed
// since. For the Node inspector that is the Debugger.paused and
// Debugger.resumed events of each session; a session that ends counts as
// not paused, since the inspector resumes the process when its last session
// ends. For Delve it is the last state that Delve's JSON-RPC responses or
// DAP events and the debuggers' resume requests showed, on any connection,
// while at least one connection is open: a multi-client Delve keeps the
// program stopped when its clients leave, but then no debugger holds it.
func (p *Proxy) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.delvePaused && len(p.delveConns) > 0 {
		return true
	}
	for s := range p.sessions {
		if s.paused {
			return true
		}
	}

	return false
}

// rememberTargets records target ids the inspector has reported, so that a
// debugger that comes back with one of them after a restart can be sent to
// the new process.
func (p *Proxy) rememberTargets(ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets.add(ids...)
}

// knownTarget reports whether the inspector reported id before.
func (p *Proxy) knownTarget(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.targets.has(id)
}

// openSession records a new inspector session and reports it.
func (p *Proxy) openSession(remote string) *session {
	s := &session{remote: remote}
	p.mu.Lock()
	p.sessions[s] = struct{}{}
	p.mu.Unlock()

	p.log.Info("debugger attached", "remote_addr", remote)
	if p.cfg.OnAttach != nil {
		p.cfg.OnAttach(remote)
	}

	return s
}

// closeSession removes an inspector session and reports its end.
func (p *Proxy) closeSession(s *session) {
	p.mu.Lock()
	delete(p.sessions, s)
	p.mu.Unlock()

	p.log.Info("debugger detached", "remote_addr", s.remote)
	if p.cfg.OnDetach != nil {
		p.cfg.OnDetach(s.remote)
	}
}

// noteMethod follows the pause state of a session from the methods of the
// messages the inspector sends it.
func (p *Proxy) noteMethod(s *session, method string) {
	var paused bool
	switch method {
	case methodPaused:
		paused = true
	case methodResumed:
	default:
		return
	}

	p.mu.Lock()
	changed := s.paused != paused
	s.paused = paused
	p.mu.Unlock()
	if changed {
		p.log.Debug("debug target pause state changed", "paused", paused, "remote_addr", s.remote)
	}
}
