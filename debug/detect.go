package debug

import (
	"net"
	"strconv"
	"strings"
)

// Runtimes a detected debug port belongs to.
const (
	RuntimeNode = "node"
	RuntimeGo   = "go"
)

// nodeDefaultHost and nodeDefaultPort are where Node.js's inspector listens
// when a flag leaves the host or the port out.
const (
	nodeDefaultHost = "127.0.0.1"
	nodeDefaultPort = 9229
)

// Detected is a debug port found in a service's command line.
type Detected struct {
	// Port is the port the debugger listens on inside the container.
	Port int
	// Runtime is RuntimeNode or RuntimeGo.
	Runtime string
	// Host is the address the debugger binds inside the container, as
	// written ("0.0.0.0", "::", "127.0.0.1"). Empty means all interfaces.
	Host string
	// LoopbackOnly is true when Host is a loopback address: the debugger is
	// then unreachable from outside the container and the command has to
	// change before a proxy can reach it.
	LoopbackOnly bool
	// Flag is the command-line text the port came from, for messages.
	Flag string
}

// Detect finds the Node.js inspector and Delve ports in a service's
// entrypoint followed by its command. Words that hold a whole shell script
// (`sh -c "node --inspect=0.0.0.0:9229 app.js"`) are split on white space
// and scanned too. Results keep the order of the command line, one per port.
//
// Node.js flags (`--inspect`, `--inspect-brk`, `--inspect-wait`,
// `--inspect-port`) are recognised anywhere, since wrappers such as nodemon
// pass them on. Within one shell command the flags combine as Node.js
// combines them: `--inspect --inspect-port=9230` listens on 9230 only.
// Delve's `--listen`/`-l` counts only after a `dlv` word and before `--`,
// which starts the debugged program's own arguments.
//
// Flags whose port is 0 (picked at random) or cannot be read (an unexpanded
// variable) are skipped: there is nothing stable to proxy.
func Detect(args []string) []Detected {
	var found []Detected
	for _, cmd := range splitCommands(args) {
		found = append(found, detectNode(cmd)...)
		found = append(found, detectDelve(cmd)...)
	}

	return dedupeByPort(found)
}

// splitCommands turns the argument list into words and groups them into
// shell commands, split at the operators `;`, `&&`, `||`, `|` and `&`.
// Quotes are dropped from words, so `--listen=":2345"` reads as written.
func splitCommands(args []string) [][]string {
	unquote := strings.NewReplacer(`"`, "", `'`, "")
	var cmds [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			cmds = append(cmds, cur)
			cur = nil
		}
	}
	for _, arg := range args {
		for _, w := range strings.Fields(arg) {
			w = unquote.Replace(w)
			// `NODE_OPTIONS=--inspect=... node app.js` sets the flag
			// through the environment of the command.
			w = strings.TrimPrefix(w, "NODE_OPTIONS=")
			switch w {
			case ";", "&&", "||", "|", "&":
				flush()
				continue
			}
			if trimmed, ok := strings.CutSuffix(w, ";"); ok {
				if trimmed != "" {
					cur = append(cur, trimmed)
				}
				flush()
				continue
			}
			cur = append(cur, w)
		}
	}
	flush()

	return cmds
}

// detectNode reads the Node.js inspector flags of one command.
func detectNode(words []string) []Detected {
	var (
		host  = nodeDefaultHost
		port  = nodeDefaultPort
		valid = true
		flags []string // the flags that make up the address
	)
	for i := 0; i < len(words); i++ {
		w := words[i]
		name, value, hasValue := strings.Cut(w, "=")
		switch name {
		case "--inspect", "--inspect-brk", "--inspect-wait":
		case "--inspect-port", "--debug-port":
			// The value may also be the next word for this flag, since it
			// requires one.
			if !hasValue && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
				i++
				value, hasValue = words[i], true
				w += " " + value
			}
		default:
			continue
		}
		flags = append(flags, w)
		if !hasValue {
			continue
		}
		h, p, ok := parseNodeHostPort(value)
		if !ok {
			valid = false
			continue
		}
		if h != "" {
			host = h
		}
		if p >= 0 {
			port = p
		}
	}
	if !valid || len(flags) == 0 {
		return nil
	}

	// With --inspect-port alone the inspector starts at that address on
	// SIGUSR1, which is still worth proxying.
	return filterPorts([]Detected{nodeDetected(host, port, strings.Join(flags, " "))})
}

// parseNodeHostPort reads a Node.js `[host:]port` value the way Node.js does:
// a bracketed address alone is a host, digits alone are a port, anything
// else without a colon is a host name. A returned port of -1 means unset.
func parseNodeHostPort(v string) (host string, port int, ok bool) {
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		return v[1 : len(v)-1], -1, true
	}
	i := strings.LastIndex(v, ":")
	if i < 0 {
		if n, err := strconv.Atoi(v); err == nil {
			return "", n, validPort(n)
		}
		return v, -1, v != ""
	}
	n, err := strconv.Atoi(v[i+1:])
	if err != nil || !validPort(n) {
		return "", 0, false
	}
	host = strings.TrimSuffix(strings.TrimPrefix(v[:i], "["), "]")

	return host, n, true
}

func nodeDetected(host string, port int, flag string) Detected {
	return Detected{
		Port:         port,
		Runtime:      RuntimeNode,
		Host:         host,
		LoopbackOnly: host != "" && IsLoopback(host),
		Flag:         flag,
	}
}

// detectDelve reads Delve's listen flag in one command. Delve serves on a
// random port when the flag is missing, so nothing is detected then.
func detectDelve(words []string) []Detected {
	var found []Detected
	inDelve := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !inDelve {
			inDelve = w == "dlv" || strings.HasSuffix(w, "/dlv")
			continue
		}
		if w == "--" {
			// What follows belongs to the program under the debugger. A
			// later dlv starts a new scan.
			inDelve = false
			continue
		}
		name, value, hasValue := strings.Cut(w, "=")
		if name != "--listen" && name != "-l" {
			continue
		}
		flag := w
		if !hasValue {
			if i+1 >= len(words) {
				continue
			}
			i++
			value = words[i]
			flag += " " + value
		}
		host, portStr, err := net.SplitHostPort(value)
		if err != nil {
			continue
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || !validPort(port) {
			continue
		}
		found = append(found, Detected{
			Port:         port,
			Runtime:      RuntimeGo,
			Host:         host,
			LoopbackOnly: host != "" && IsLoopback(host),
			Flag:         flag,
		})
	}

	return filterPorts(found)
}

// filterPorts drops port 0, which makes the debugger listen on a random
// port that cannot be proxied.
func filterPorts(ds []Detected) []Detected {
	out := ds[:0]
	for _, d := range ds {
		if d.Port > 0 {
			out = append(out, d)
		}
	}

	return out
}

func dedupeByPort(ds []Detected) []Detected {
	seen := make(map[int]bool, len(ds))
	var out []Detected
	for _, d := range ds {
		if seen[d.Port] {
			continue
		}
		seen[d.Port] = true
		out = append(out, d)
	}

	return out
}

// validPort reports whether n fits a TCP port. Port 0 is valid and means a
// random port.
func validPort(n int) bool {
	return n >= 0 && n <= 65535
}
