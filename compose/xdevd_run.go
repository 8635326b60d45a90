package compose

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// minPoll is the shortest `x-devd.poll` interval accepted. Each scan walks
// every watched folder, so a shorter interval would keep a core busy on a
// large tree without making changes show up noticeably sooner.
const minPoll = 100 * time.Millisecond

// Prefixes of the `x-devd.ready` forms.
const (
	readyTCP  = "tcp:"
	readyHTTP = "http://"
	readyLog  = "log:"
)

// parseReady parses `x-devd.ready`: tcp:PORT, an http:// URL or
// log:REGEXP. The value is returned trimmed, otherwise as written.
func parseReady(key string, v any) (string, error) {
	const hint = `use tcp:PORT, http://HOST:PORT/PATH or log:REGEXP, such as "tcp:3000"`
	s, ok := v.(string)
	if !ok {
		return "", &fieldError{key, "must be a string (" + hint + "), got " + describe(v)}
	}
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, readyTCP):
		if _, err := asPort(key, strings.TrimPrefix(s, readyTCP)); err != nil {
			return "", &fieldError{key, fmt.Sprintf("invalid port in %q: use a number from 1 to 65535", s)}
		}
	case strings.HasPrefix(s, readyHTTP):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.Hostname() == "" {
			return "", &fieldError{key, fmt.Sprintf("invalid URL %q: use http://HOST:PORT/PATH, such as http://localhost:3000/health", s)}
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > math.MaxUint16 {
				return "", &fieldError{key, fmt.Sprintf("invalid port in %q: use a number from 1 to 65535", s)}
			}
		}
	case strings.HasPrefix(s, readyLog):
		expr := strings.TrimPrefix(s, readyLog)
		if expr == "" {
			return "", &fieldError{key, "log: needs a regular expression that matches the line the service prints once it is ready"}
		}
		if _, err := regexp.Compile(expr); err != nil {
			return "", &fieldError{key, fmt.Sprintf("invalid regular expression %q: %v", expr, err)}
		}
	default:
		return "", &fieldError{key, fmt.Sprintf("invalid value %q: %s", s, hint)}
	}
	return s, nil
}

// userPattern matches `x-devd.user`: numeric "UID:GID".
var userPattern = regexp.MustCompile(`^([0-9]+):([0-9]+)$`)

// parseUser parses `x-devd.user`, the numeric owner "UID:GID" of the files
// devd writes into the container. Names are not accepted: they would have
// to be looked up in the container's /etc/passwd.
func parseUser(key string, v any) (string, error) {
	const hint = `use numbers "UID:GID", such as "1000:1000"`
	s, ok := v.(string)
	if !ok {
		return "", &fieldError{key, "must be a string (" + hint + "), got " + describe(v)}
	}
	m := userPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", &fieldError{key, fmt.Sprintf("invalid value %q: %s", s, hint)}
	}
	for _, id := range m[1:] {
		// 2^32-1 is the "no id" value of chown.
		if n, err := strconv.ParseUint(id, 10, 32); err != nil || n == math.MaxUint32 {
			return "", &fieldError{key, fmt.Sprintf("id %s in %q is out of range", id, s)}
		}
	}
	return m[0], nil
}

// parsePoll parses `x-devd.poll`, a duration such as "1s". Zero turns
// polling off.
func parsePoll(key string, v any) (time.Duration, error) {
	hint := fmt.Sprintf(`use a duration of at least %s such as "1s", or 0 for file system events`, minPoll)
	var d time.Duration
	switch x := v.(type) {
	case string:
		parsed, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			if n, ok := asInt(x); ok && n == 0 {
				return 0, nil
			}
			return 0, &fieldError{key, fmt.Sprintf("invalid duration %q: %s", x, hint)}
		}
		d = parsed
	default:
		if n, ok := asInt(v); ok && n == 0 {
			return 0, nil
		}
		return 0, &fieldError{key, "must be a duration string (" + hint + "), got " + describe(v)}
	}
	if d < 0 || (d > 0 && d < minPoll) {
		return 0, &fieldError{key, fmt.Sprintf("%s is out of range: %s", d, hint)}
	}
	return d, nil
}
