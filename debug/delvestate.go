package debug

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
)

// maxDelveMessage bounds the size of one Delve message that the Proxy
// reads for the pause state. Larger messages (goroutine lists, memory
// reads) carry no state that matters here and are skipped.
const maxDelveMessage = 1 << 20

// Framings of a Delve connection, recognised by its first byte. Delve's
// JSON-RPC sends bare JSON objects, and DAP sends a Content-Length header
// before each one.
const (
	framingUnknown = iota
	framingJSON
	framingDAP
	framingOther // neither: the connection is not read
)

// delveScanner reads a copy of one direction of a Delve connection and
// hands each complete message to onMessage. It never fails and never
// blocks: the Proxy forwards the bytes whatever it makes of them.
type delveScanner struct {
	framing   int
	onMessage func([]byte)

	buf      []byte
	overflow bool // the current message is too large and is skipped

	// JSON-RPC: the nesting depth and string state of the current object.
	depth          int
	inString, escd bool

	// DAP: the body length from the header, -1 while the header is read.
	bodyLen int
}

func newDelveScanner(onMessage func([]byte)) *delveScanner {
	return &delveScanner{onMessage: onMessage, bodyLen: -1}
}

// Write takes the next bytes of the stream. It always reports success.
func (s *delveScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && s.framing != framingOther {
		if s.framing == framingUnknown {
			p = bytes.TrimLeft(p, " \t\r\n")
			if len(p) == 0 {
				break
			}
			switch p[0] {
			case '{':
				s.framing = framingJSON
			case 'C', 'c':
				s.framing = framingDAP
			default:
				s.framing = framingOther
				continue
			}
		}
		if s.framing == framingJSON {
			p = s.scanJSON(p)
		} else {
			p = s.scanDAP(p)
		}
	}

	return n, nil
}

// scanJSON reads JSON objects one after the other and returns what is left
// of p after the first complete one, or nothing.
func (s *delveScanner) scanJSON(p []byte) []byte {
	for i, c := range p {
		if s.depth == 0 && c != '{' {
			continue // white space between objects
		}
		s.keep(c)
		switch {
		case s.inString && s.escd:
			s.escd = false
		case s.inString && c == '\\':
			s.escd = true
		case c == '"':
			s.inString = !s.inString
		case s.inString:
		case c == '{' || c == '[':
			s.depth++
		case c == '}' || c == ']':
			s.depth--
			if s.depth == 0 {
				s.emit()
				return p[i+1:]
			}
		}
	}

	return nil
}

// scanDAP reads "Content-Length: N\r\n\r\n" headers and their bodies.
func (s *delveScanner) scanDAP(p []byte) []byte {
	if s.bodyLen < 0 {
		i := 0
		for ; i < len(p); i++ {
			s.keep(p[i])
			if bytes.HasSuffix(s.buf, []byte("\r\n\r\n")) {
				break
			}
			if s.overflow {
				s.framing = framingOther // not a header: give up on this connection
				return nil
			}
		}
		if i == len(p) {
			return nil
		}
		s.bodyLen = contentLength(s.buf)
		s.buf = s.buf[:0]
		if s.bodyLen < 0 {
			s.framing = framingOther
			return nil
		}
		s.overflow = s.bodyLen > maxDelveMessage
		p = p[i+1:]
	}
	take := min(len(p), s.bodyLen)
	if !s.overflow {
		s.buf = append(s.buf, p[:take]...)
	}
	s.bodyLen -= take
	if s.bodyLen == 0 {
		s.bodyLen = -1
		s.emit()
	}

	return p[take:]
}

// contentLength reads the Content-Length of a DAP header, or -1.
func contentLength(header []byte) int {
	for _, line := range strings.Split(string(header), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			if n, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && n >= 0 {
				return n
			}
		}
	}

	return -1
}

func (s *delveScanner) keep(c byte) {
	if s.overflow {
		return
	}
	if len(s.buf) >= maxDelveMessage {
		s.overflow = true
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, c)
}

func (s *delveScanner) emit() {
	if !s.overflow && len(s.buf) > 0 {
		s.onMessage(s.buf)
	}
	s.buf = s.buf[:0]
	s.overflow = false
}

// Delve commands (api.DebuggerCommand names) that let the program run.
// halt, switchThread and switchGoroutine do not.
var delveRunCommands = map[string]bool{
	"continue": true, "next": true, "step": true, "stepOut": true, "stepInstruction": true,
	"nextInstruction": true, "rewind": true, "reverseNext": true, "reverseStep": true,
	"reverseStepOut": true, "reverseStepInstruction": true, "directionCongruentContinue": true, "call": true,
}

// DAP requests whose success means the program runs again.
var dapRunCommands = map[string]bool{
	"continue": true, "next": true, "stepIn": true, "stepOut": true, "stepBack": true, "reverseContinue": true,
}

// delveMessage holds the fields of a JSON-RPC or DAP message that tell
// whether the program stopped or runs.
type delveMessage struct {
	// JSON-RPC requests and responses.
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	Result *struct {
		State *struct {
			Running bool `json:"Running"`
			Exited  bool `json:"Exited"`
		} `json:"State"`
	} `json:"result"`
	Error any `json:"error"`

	// DAP.
	Type    string `json:"type"`
	Event   string `json:"event"`
	Command string `json:"command"`
	Success bool   `json:"success"`
}

// delveRequestState reads a message a debugger sent to Delve and reports
// whether it means the program runs from now on (known true).
func delveRequestState(msg []byte) (running, known bool) {
	var m delveMessage
	if json.Unmarshal(msg, &m) != nil {
		return false, false
	}
	switch {
	case strings.HasSuffix(m.Method, ".Command") && len(m.Params) > 0:
		var cmd struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(m.Params[0], &cmd) == nil && delveRunCommands[cmd.Name] {
			return true, true
		}
	case strings.HasSuffix(m.Method, ".Restart"):
		// The stopped process is gone; the new one is not held by a
		// debugger's stop.
		return true, true
	}

	return false, false
}

// delveResponseState reads a message Delve sent to a debugger and reports
// whether the program is paused (stopped and alive), when the message
// shows it. These messages do: a JSON-RPC response that carries the
// debugger state, Delve's error about a program that has exited, DAP's
// stopped, continued, exited and terminated events, and DAP's responses to
// the requests that resume.
func delveResponseState(msg []byte) (paused, known bool) {
	var m delveMessage
	if json.Unmarshal(msg, &m) != nil {
		return false, false
	}
	switch m.Type {
	case "event":
		switch m.Event {
		case "stopped":
			return true, true
		case "continued", "exited", "terminated":
			return false, true
		}
		return false, false
	case "response":
		if m.Success && dapRunCommands[m.Command] {
			return false, true
		}
		return false, false
	}
	if m.Result != nil && m.Result.State != nil {
		st := m.Result.State
		return !st.Running && !st.Exited, true
	}
	if e, ok := m.Error.(string); ok && strings.Contains(e, "has exited with status") {
		return false, true
	}

	return false, false
}

// delveConn is one debugger connection forwarded as bytes, which may be a
// Delve client.
type delveConn struct {
	remote string
}

// openDelve registers a connection forwarded as bytes and returns the
// writers that take copies of what the debugger sends (toTarget) and what
// the target sends back (fromTarget), and the function to call when the
// connection ends.
func (p *Proxy) openDelve(remote string) (toTarget, fromTarget io.Writer, done func()) {
	c := &delveConn{remote: remote}
	p.mu.Lock()
	p.delveConns[c] = struct{}{}
	p.mu.Unlock()

	toTarget = newDelveScanner(func(msg []byte) {
		if running, ok := delveRequestState(msg); ok && running {
			p.setDelvePaused(c, false)
		}
	})
	fromTarget = newDelveScanner(func(msg []byte) {
		if paused, ok := delveResponseState(msg); ok {
			p.setDelvePaused(c, paused)
		}
	})
	done = func() {
		p.mu.Lock()
		delete(p.delveConns, c)
		if len(p.delveConns) == 0 {
			p.delvePaused = false
		}
		p.mu.Unlock()
	}

	return toTarget, fromTarget, done
}

// setDelvePaused records the program's state from the latest message of
// any Delve connection, because all clients drive the same program.
func (p *Proxy) setDelvePaused(c *delveConn, paused bool) {
	p.mu.Lock()
	changed := p.delvePaused != paused
	p.delvePaused = paused
	p.mu.Unlock()
	if changed {
		p.log.Debug("debug target pause state changed", "paused", paused, "remote_addr", c.remote, "protocol", "delve")
	}
}

// ForgetPause clears the pause state learnt from Delve's traffic. devd
// calls it after it let the program run itself, through a connection of
// its own that the Proxy does not see.
func (p *Proxy) ForgetPause() {
	p.mu.Lock()
	p.delvePaused = false
	p.mu.Unlock()
}

// pipeTapped is pipe with copies of both directions written to the
// writers of openDelve.
func (p *Proxy) pipeTapped(a net.Conn, ar io.Reader, b net.Conn, br io.Reader) {
	toTarget, fromTarget, done := p.openDelve(a.RemoteAddr().String())
	defer done()
	pipe(a, io.TeeReader(ar, toTarget), b, io.TeeReader(br, fromTarget))
}
