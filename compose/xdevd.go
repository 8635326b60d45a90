package compose

import (
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/devdtool/devd/watch"
)

// extensionKey is the service-level Compose extension devd reads.
const extensionKey = "x-devd"

// extension is a service's parsed `x-devd` section.
type extension struct {
	// present is true when the service has an `x-devd` key, even an empty one.
	present bool
	// watch is the `watch` value, or nil when unset.
	watch *bool
	// restart is the `restart` value, or nil when unset.
	restart *RestartMode
	// debug contains the `debug` entries in file order.
	debug []DebugPort
	// ready is the `ready` value, "" when unset.
	ready string
	// user is the `user` value, "" when unset.
	user string
	// build is the `build` section, nil when unset. Its paths are as
	// written; derive resolves them.
	build *buildSpec
	// poll is the `poll` interval, 0 when unset.
	poll time.Duration
	// gitignore is the `gitignore` value.
	gitignore bool
	// ignore holds the `ignore` patterns.
	ignore []string
	// debugWait is the `debug_wait` value.
	debugWait bool
	// supervise is the `supervise` value, or nil when unset.
	supervise *bool
}

// fieldError is an invalid `x-devd` key. The caller adds file and service.
type fieldError struct {
	key     string
	message string
}

func (e *fieldError) Error() string { return e.key + ": " + e.message }

// extensionKeys and debugKeys list the keys of `x-devd` and of one
// `x-devd.debug` entry.
var (
	extensionKeys = []string{"build", "debug", "debug_wait", "gitignore", "ignore", "poll", "ready", "restart", "supervise", "user", "watch"}
	debugKeys     = []string{"allow_remote", "brk", "listen", "port", "runtime"}
)

// parseExtension parses a service's `x-devd` value as compose-go decoded
// it. Unknown keys and values of the wrong type are errors. Strings are
// accepted where they parse as the expected type, because `${VAR}`
// interpolation always yields strings.
func parseExtension(raw any, present bool) (extension, error) {
	ext := extension{present: present}
	if !present || raw == nil {
		return ext, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return ext, &fieldError{extensionKey, "must be a mapping of " + strings.Join(extensionKeys, ", ") + ", got " + describe(raw)}
	}

	for _, k := range sortedKeys(m) {
		key := extensionKey + "." + k
		v := m[k]
		switch k {
		case "watch":
			b, err := asBool(key, v)
			if err != nil {
				return ext, err
			}
			ext.watch = &b
		case "restart":
			mode, err := parseRestart(key, v)
			if err != nil {
				return ext, err
			}
			ext.restart = &mode
		case "debug":
			ports, err := parseDebugList(key, v)
			if err != nil {
				return ext, err
			}
			ext.debug = ports
		case "ready":
			ready, err := parseReady(key, v)
			if err != nil {
				return ext, err
			}
			ext.ready = ready
		case "user":
			user, err := parseUser(key, v)
			if err != nil {
				return ext, err
			}
			ext.user = user
		case "build":
			build, err := parseBuild(key, v)
			if err != nil {
				return ext, err
			}
			ext.build = build
		case "poll":
			poll, err := parsePoll(key, v)
			if err != nil {
				return ext, err
			}
			ext.poll = poll
		case "ignore":
			patterns, err := parseIgnoreList(key, v)
			if err != nil {
				return ext, err
			}
			ext.ignore = patterns
		case "gitignore", "debug_wait", "supervise":
			b, err := asBool(key, v)
			if err != nil {
				return ext, err
			}
			switch k {
			case "gitignore":
				ext.gitignore = b
			case "debug_wait":
				ext.debugWait = b
			default:
				ext.supervise = &b
			}
		default:
			return ext, unknownKey(key, extensionKeys)
		}
	}
	return ext, nil
}

// parseRestart parses `x-devd.restart`: process, container, none or
// signal:SIGNAL.
func parseRestart(key string, v any) (RestartMode, error) {
	const hint = "use process, container, signal:SIGNAL or none"
	s, ok := v.(string)
	if !ok {
		return RestartMode{}, &fieldError{key, "must be a string (" + hint + "), got " + describe(v)}
	}
	switch s {
	case string(RestartProcess):
		return RestartMode{Kind: RestartProcess}, nil
	case string(RestartContainer):
		return RestartMode{Kind: RestartContainer}, nil
	case string(RestartNone):
		return RestartMode{Kind: RestartNone}, nil
	}
	name, isSignal := strings.CutPrefix(s, string(RestartSignal)+":")
	if !isSignal {
		return RestartMode{}, &fieldError{key, fmt.Sprintf("invalid value %q: %s", s, hint)}
	}
	sig, ok := restartSignal(name)
	if !ok {
		return RestartMode{}, &fieldError{key, fmt.Sprintf("invalid signal %q: use one of %s", name, strings.Join(restartSignals, ", "))}
	}
	return RestartMode{Kind: RestartSignal, Signal: sig}, nil
}

// restartSignals are the signals `x-devd.restart: signal:...` accepts.
var restartSignals = []string{"SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGQUIT", "SIGKILL"}

// restartSignal returns the SIG-prefixed upper-case form of a restart
// signal name given with or without the prefix, in any case.
func restartSignal(name string) (string, bool) {
	sig := normalizeSignal(name)
	for _, s := range restartSignals {
		if s == sig {
			return sig, true
		}
	}
	return "", false
}

// signalNumbers maps the Linux numbers of common signals to their names,
// for a `stop_signal` written as a number.
var signalNumbers = map[string]string{
	"1": "SIGHUP", "2": "SIGINT", "3": "SIGQUIT", "9": "SIGKILL",
	"10": "SIGUSR1", "12": "SIGUSR2", "15": "SIGTERM",
}

// normalizeSignal turns "hup", "HUP", "SIGHUP" or "1" into "SIGHUP". Other
// numbers are returned as they are.
func normalizeSignal(name string) string {
	name = strings.ToUpper(strings.TrimSpace(name))
	if n, ok := signalNumbers[name]; ok {
		return n
	}
	if _, err := strconv.Atoi(name); err == nil || name == "" {
		return name
	}
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	return name
}

// parseDebugList parses `x-devd.debug`, a list of debug port entries.
func parseDebugList(key string, v any) ([]DebugPort, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, &fieldError{key, "must be a list of entries such as {port: 9229, runtime: node}, got " + describe(v)}
	}
	var ports []DebugPort
	seen := map[int]int{}
	for i, e := range list {
		ekey := fmt.Sprintf("%s[%d]", key, i)
		p, err := parseDebugEntry(ekey, e)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[p.Port]; dup {
			return nil, &fieldError{ekey + ".port", fmt.Sprintf("port %d is already listed in %s[%d]", p.Port, key, first)}
		}
		seen[p.Port] = i
		ports = append(ports, p)
	}
	return ports, nil
}

// parseDebugEntry parses one `x-devd.debug` entry.
func parseDebugEntry(key string, v any) (DebugPort, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return DebugPort{}, &fieldError{key, "must be a mapping such as {port: 9229, runtime: node}, got " + describe(v)}
	}
	var p DebugPort
	for _, k := range sortedKeys(m) {
		fkey := key + "." + k
		val := m[k]
		switch k {
		case "port":
			n, err := asPort(fkey, val)
			if err != nil {
				return DebugPort{}, err
			}
			p.Port = n
		case "runtime":
			s, ok := val.(string)
			if !ok || (s != "node" && s != "go") {
				return DebugPort{}, &fieldError{fkey, "must be node or go, got " + describe(val)}
			}
			p.Runtime = s
		case "listen":
			s, ok := val.(string)
			if !ok {
				return DebugPort{}, &fieldError{fkey, `must be a "host:port" string such as "127.0.0.1:19229", got ` + describe(val)}
			}
			p.Listen = s
		case "allow_remote":
			b, err := asBool(fkey, val)
			if err != nil {
				return DebugPort{}, err
			}
			p.AllowRemote = b
		case "brk":
			b, err := asBool(fkey, val)
			if err != nil {
				return DebugPort{}, err
			}
			p.Brk = b
		default:
			return DebugPort{}, unknownKey(fkey, debugKeys)
		}
	}
	if _, ok := m["port"]; !ok {
		return DebugPort{}, &fieldError{key + ".port", "is required: the debugger's port inside the container"}
	}
	if p.Listen != "" {
		if err := checkListen(key+".listen", p.Listen, p.AllowRemote); err != nil {
			return DebugPort{}, err
		}
	}
	return p, nil
}

// checkListen validates a debug proxy's host address. A debugger port runs
// any code it is sent, so an address other than loopback needs
// allow_remote.
func checkListen(key, listen string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return &fieldError{key, fmt.Sprintf(`invalid address %q: use "host:port", such as "127.0.0.1:19229"`, listen)}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > math.MaxUint16 {
		return &fieldError{key, fmt.Sprintf("invalid port in %q: use a number from 1 to 65535", listen)}
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		loopback = ip.IsLoopback()
	} else if !loopback && host != "" {
		return &fieldError{key, fmt.Sprintf("invalid host in %q: use an IP address or localhost", listen)}
	}
	if !loopback && !allowRemote {
		return &fieldError{key, fmt.Sprintf("%q is reachable from other machines and a debugger port runs any code it is sent: listen on 127.0.0.1, or set allow_remote: true if you mean it", listen)}
	}
	return nil
}

// asBool converts a boolean, or the string "true" or "false".
func asBool(key string, v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(b) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, &fieldError{key, "must be true or false, got " + describe(v)}
}

// asPort converts a port number from 1 to 65535, given as a number or a
// string of digits.
func asPort(key string, v any) (int, error) {
	n, ok := asInt(v)
	if !ok {
		return 0, &fieldError{key, "must be a port number from 1 to 65535, got " + describe(v)}
	}
	if n < 1 || n > math.MaxUint16 {
		return 0, &fieldError{key, fmt.Sprintf("port %d is out of range: use a number from 1 to 65535", n)}
	}
	return n, nil
}

// asInt converts a whole number of any type a YAML decoder produces.
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), n >= math.MinInt32 && n <= math.MaxInt32
	case uint64:
		return int(n), n <= math.MaxInt32
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		return i, err == nil
	}
	return 0, false
}

// unknownKey returns the error for an unknown key, listing the known ones.
func unknownKey(key string, known []string) error {
	return &fieldError{key, "unknown key; the known keys are " + strings.Join(known, ", ")}
}

// describe formats a decoded YAML value for messages: its kind, and the
// value itself for scalars.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case int, int64, uint64, float64:
		return fmt.Sprintf("number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// sortedKeys returns a map's keys sorted, so the first error reported does
// not depend on map iteration order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseIgnoreList parses `ignore`, a list of .dockerignore patterns.
func parseIgnoreList(key string, v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, &fieldError{key, "must be a list of patterns relative to each watched folder, such as [tmp/, \"*.log\"], got " + describe(v)}
	}
	patterns := make([]string, 0, len(list))
	for i, e := range list {
		p, ok := e.(string)
		if !ok || strings.TrimSpace(p) == "" {
			return nil, &fieldError{fmt.Sprintf("%s[%d]", key, i), "must be a non-empty pattern string, got " + describe(e)}
		}
		if err := watch.CheckPattern(p); err != nil {
			return nil, &fieldError{fmt.Sprintf("%s[%d]", key, i), badPattern(p, err)}
		}
		patterns = append(patterns, p)
	}
	return patterns, nil
}

// badPattern is the message for an ignore or include pattern that does not
// parse, with what to do about it.
func badPattern(p string, err error) string {
	return fmt.Sprintf("pattern %q does not parse (%v): correct or remove it; patterns follow .dockerignore syntax, "+
		"where *, ?, [ ] and \\ are special and \\[ stands for a literal [", p, err)
}
