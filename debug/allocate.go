package debug

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
)

// defaultHost is the address a proxy listens on when its request names none.
const defaultHost = "127.0.0.1"

// maxPort is the highest TCP port.
const maxPort = 65535

// Request describes one debug port of a service that needs a host address.
type Request struct {
	// Service is the Compose service name.
	Service string
	// Port is the debug port inside the container, 1 to 65535.
	Port int
	// Listen is the host address to listen on ("127.0.0.1:19229", or a bare
	// port meaning 127.0.0.1). Empty picks 127.0.0.1 and the first free port
	// from Port upwards.
	Listen string
	// AllowRemote permits a Listen address that is not loopback.
	AllowRemote bool
}

// Assignment is a Request with the host address its proxy listens on.
type Assignment struct {
	Request
	// Addr is the host address, "host:port".
	Addr string
}

// Allocate gives each request a host address. free reports whether an
// address can be listened on, and PortFree is the real probe. Requests are
// handled by service name, then port, and the result is in that order, so
// the same project gets the same ports from one run to the next as long as
// the ports are free.
//
// Requests with a Listen address are served first, so a default never takes
// an address that a request names. A default is 127.0.0.1:Port when free,
// otherwise the next free port upwards that this call has not handed out.
//
// Allocate checks every request and joins all errors; the assignments it
// returns along with an error are those of the requests that succeeded.
func Allocate(reqs []Request, free func(addr string) bool) ([]Assignment, error) {
	sorted := slices.Clone(reqs)
	slices.SortStableFunc(sorted, func(a, b Request) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Port, b.Port))
	})

	var (
		errs     []error
		addrs    = make([]string, len(sorted)) // empty: not assigned
		reserved []listenAddr
		owner    []Request // owner[i] requested reserved[i]
	)
	take := func(i int, a listenAddr) {
		addrs[i] = a.String()
		reserved = append(reserved, a)
		owner = append(owner, sorted[i])
	}

	// Validate, then serve the explicit addresses.
	valid := make([]bool, len(sorted))
	for i, r := range sorted {
		if r.Port < 1 || r.Port > maxPort {
			errs = append(errs, fmt.Errorf("service %q: debug port %d is out of range 1-%d", r.Service, r.Port, maxPort))
			continue
		}
		if i > 0 && sorted[i-1].Service == r.Service && sorted[i-1].Port == r.Port {
			errs = append(errs, fmt.Errorf("service %q: debug port %d is duplicated", r.Service, r.Port))
			continue
		}
		valid[i] = true
		if r.Listen == "" {
			continue
		}

		a, err := parseListen(r.Listen)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %q debug port %d: reading listen address %q: %w", r.Service, r.Port, r.Listen, err))
			continue
		}
		if !r.AllowRemote && !IsLoopback(a.host) {
			errs = append(errs, fmt.Errorf("service %q debug port %d: listen address %s is not a loopback address; "+
				"anyone who reaches a debugger port can run any code in the service (remote code execution), "+
				"so set allow_remote: true under x-devd.debug only if that is intended", r.Service, r.Port, a))
			continue
		}
		if j := slices.IndexFunc(reserved, a.overlaps); j >= 0 {
			errs = append(errs, fmt.Errorf("service %q debug port %d: listen address %s is also requested by service %q debug port %d; "+
				"choose another listen address under x-devd.debug", r.Service, r.Port, a, owner[j].Service, owner[j].Port))
			continue
		}
		if !free(a.String()) {
			errs = append(errs, fmt.Errorf("service %q debug port %d: listen address %s is in use; "+
				"choose another listen address under x-devd.debug or stop the program that uses it", r.Service, r.Port, a))
			continue
		}
		take(i, a)
	}

	// Serve the defaults.
	for i, r := range sorted {
		if !valid[i] || r.Listen != "" {
			continue
		}
		found := false
		for port := r.Port; port <= maxPort; port++ {
			a := listenAddr{host: defaultHost, port: port}
			if slices.ContainsFunc(reserved, a.overlaps) || !free(a.String()) {
				continue
			}
			take(i, a)
			found = true
			break
		}
		if !found {
			errs = append(errs, fmt.Errorf("service %q debug port %d: no free port on %s from %d to %d; "+
				"set a listen address under x-devd.debug", r.Service, r.Port, defaultHost, r.Port, maxPort))
		}
	}

	var out []Assignment
	for i, r := range sorted {
		if addrs[i] != "" {
			out = append(out, Assignment{Request: r, Addr: addrs[i]})
		}
	}

	return out, errors.Join(errs...)
}

// PortFree reports whether addr ("host:port") can be listened on now, by
// listening on it and closing the listener at once. Another program may
// take the port between this check and the proxy's own listen, and the
// proxy then reports that error.
func PortFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = l.Close()

	return true
}
