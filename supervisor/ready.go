package supervisor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// readyPollInterval spaces the probes of a tcp or http readiness check.
const readyPollInterval = 25 * time.Millisecond

// probeTimeout bounds one probe, so a server that accepts and never
// responds does not hold the check past its own timeout.
const probeTimeout = time.Second

type readyKind int

const (
	readyNone readyKind = iota
	readyTCP
	readyHTTP
	readyLog
)

// readyCheck is a parsed Config.Ready.
type readyCheck struct {
	kind    readyKind
	port    int            // readyTCP
	url     string         // readyHTTP
	pattern *regexp.Regexp // readyLog
}

// parseReady parses a readiness spec: "tcp:PORT", an http:// URL, or
// "log:REGEXP". The empty spec means no check.
func parseReady(spec string) (readyCheck, error) {
	switch {
	case spec == "":
		return readyCheck{}, nil

	case strings.HasPrefix(spec, "tcp:"):
		port, err := strconv.Atoi(strings.TrimPrefix(spec, "tcp:"))
		if err != nil || port < 1 || port > 65535 {
			return readyCheck{}, fmt.Errorf("%w: readiness check %q: the port must be a number between 1 and 65535", ErrInvalidConfig, spec)
		}
		return readyCheck{kind: readyTCP, port: port}, nil

	case strings.HasPrefix(spec, "http://"):
		u, err := url.Parse(spec)
		if err != nil || u.Host == "" {
			return readyCheck{}, fmt.Errorf("%w: readiness check %q: use a URL such as http://127.0.0.1:3000/health", ErrInvalidConfig, spec)
		}
		return readyCheck{kind: readyHTTP, url: spec}, nil

	case strings.HasPrefix(spec, "log:"):
		expr := strings.TrimPrefix(spec, "log:")
		if expr == "" {
			return readyCheck{}, fmt.Errorf("%w: readiness check %q: the regular expression is empty", ErrInvalidConfig, spec)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return readyCheck{}, fmt.Errorf("%w: readiness check %q: %w", ErrInvalidConfig, spec, err)
		}
		return readyCheck{kind: readyLog, pattern: re}, nil
	}
	return readyCheck{}, fmt.Errorf("%w: readiness check %q: use tcp:PORT, http://127.0.0.1:PORT/path or log:REGEXP", ErrInvalidConfig, spec)
}

// probe reports whether a tcp or http check passes now. A tcp check passes
// when a connection to the port on 127.0.0.1 or ::1 is accepted; an http
// check passes on any response status below 500, since a 404 still proves
// that the server serves.
func (r readyCheck) probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()

	switch r.kind {
	case readyTCP:
		var d net.Dialer
		for _, host := range []string{"127.0.0.1", "::1"} {
			conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(r.port)))
			if err == nil {
				_ = conn.Close()
				return true
			}
		}
		return false

	case readyHTTP:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
		if err != nil {
			return false
		}
		client := http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode < http.StatusInternalServerError
	}
	return false
}

// poller probes a tcp or http check until it passes or is stopped.
//
// The goroutine that created it must call stop once, which waits for the
// probing goroutine to end. ready is closed when the check passed.
type poller struct {
	ready  chan struct{}
	done   chan struct{}
	cancel context.CancelFunc
}

// startPoller starts probing check every interval.
func startPoller(check readyCheck, interval time.Duration) *poller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{ready: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			if check.probe(ctx) {
				close(p.ready)
				return
			}
			select {
			case <-ticker.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// stop ends the probing and waits for it.
func (p *poller) stop() {
	p.cancel()
	<-p.done
}
