package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/debug"
	"github.com/devdtool/devd/delve"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// proxyDialTimeout bounds the dial to the container, so a debugger that
// connects while the service is down is turned away quickly.
const proxyDialTimeout = 500 * time.Millisecond

// startProxies allocates a host address for every debug port of the
// watched services and starts a proxy on each. The addresses are chosen
// in service-name order so they are stable between runs. Any allocation
// error is returned before a listener is left open.
// proxyInfo is a running debug proxy of a service.
type proxyInfo struct {
	service string
	port    int
	runtime string
	addr    string
	proxy   *debug.Proxy
}

func startProxies(ctx context.Context, services []compose.Service, workers map[string]*worker,
	reg *registry, eng Engine, log hclog.Logger, bus *event.Bus) ([]proxyInfo, error) {
	var reqs []debug.Request
	for _, svc := range services {
		if !svc.Watch {
			continue
		}
		for _, d := range svc.Debug {
			reqs = append(reqs, debug.Request{Service: svc.Name, Port: d.Port, Listen: d.Listen, AllowRemote: d.AllowRemote})
		}
	}
	if len(reqs) == 0 {
		return nil, nil
	}

	assigned, err := debug.Allocate(reqs, debug.PortFree)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}

	var proxies []proxyInfo
	closeAll := func() {
		for _, p := range proxies {
			_ = p.proxy.Close()
		}
	}
	for _, a := range assigned {
		ln, err := net.Listen("tcp", a.Addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("debug port %d of service %q: listening on %s: %w", a.Port, a.Service, a.Addr, err)
		}
		svc := serviceByName(services, a.Service)
		plog := log.Named("debug").With("service", a.Service, "port", a.Port)
		addr := ln.Addr().String()
		service := a.Service
		p := debug.NewProxy(debug.ProxyConfig{
			Listener:        ln,
			Resolve:         resolver(a.Service, a.Port, workers[a.Service], reg, eng),
			DialTimeout:     proxyDialTimeout,
			Logger:          plog,
			Service:         a.Service,
			Port:            a.Port,
			Protocol:        protocolOf(runtimeOf(svc, a.Port)),
			AllowOtherUsers: a.AllowRemote,
			OnAttach: func(remote string) {
				publish(bus, event.Event{Type: event.DebuggerAttached, Service: service, Address: addr, Reason: "from " + remote})
			},
			OnDetach: func(remote string) {
				publish(bus, event.Event{Type: event.DebuggerDetached, Service: service, Address: addr, Reason: "from " + remote})
			},
		})
		proxies = append(proxies, proxyInfo{service: a.Service, port: a.Port, runtime: runtimeOf(svc, a.Port), addr: ln.Addr().String(), proxy: p})
		if w := workers[a.Service]; w != nil {
			paused := p.Paused
			if runtimeOf(svc, a.Port) == "go" && delve.MulticlientFromArgs(svc.Command) {
				paused = delvePaused(p, resolver(a.Service, a.Port, w, reg, eng))
			}
			w.watchPaused(paused)
			w.OnRestart(p.CloseConnections)
			w.OnResumed(p.ForgetPause)
		}
		go func() { _ = p.Serve(ctx) }()

		plog.Info("debug proxy listening; attach your debugger here", "address", ln.Addr().String())
		if bus != nil {
			bus.Publish(event.Event{Type: event.DebugListening, Service: a.Service, Address: ln.Addr().String(),
				Reason: fmt.Sprintf("port %d in the container", a.Port)})
		}
		warnPublished(plog, svc, a)
	}
	return proxies, nil
}

// delveStateTimeout bounds asking a Delve server for its state.
const delveStateTimeout = time.Second

// delvePaused returns the pause check of a Go service under a Delve server
// that accepts several clients. The proxy follows the state that Delve
// shows its debuggers. When that state is paused, Delve itself is asked,
// through a connection of devd's own and a state request that does not
// wait, because the program may run again without the proxy seeing it
// (another client, or a swap). When Delve cannot be asked, the proxy's
// state is used. A server that accepts one client is never asked: the
// connection would take its only slot.
func delvePaused(p *debug.Proxy, resolve func(context.Context) (string, error)) func() bool {
	return func() bool {
		if !p.Paused() {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), delveStateTimeout)
		defer cancel()
		addr, err := resolve(ctx)
		if err != nil {
			return true
		}
		c, err := delve.Dial(ctx, addr, delveStateTimeout)
		if err != nil {
			return true
		}
		defer c.Close()
		paused, err := c.Paused(ctx)
		if err != nil {
			return true
		}
		if !paused {
			p.ForgetPause()
		}
		return paused
	}
}

// warnPublished tells the user when Docker publishes the same container
// port itself: that port breaks at every restart, devd's does not.
func warnPublished(log hclog.Logger, svc compose.Service, a debug.Assignment) {
	for _, p := range svc.Ports {
		if p.Target == a.Port && p.Published != 0 {
			log.Warn("Docker also publishes this debug port; attach to devd's address instead, which stays open across restarts",
				"published", p.Published, "attach_to", a.Addr)
		}
	}
}

// resolver returns the function a proxy uses to find where the debug port
// of the service's first running container is reachable now. While the
// service restarts it returns an error, so the proxy turns clients away at
// once instead of holding them.
func resolver(service string, port int, w *worker, reg *registry, eng Engine) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if w != nil && w.Restarting() {
			return "", errors.New("service is restarting")
		}
		running := reg.Running(service)
		if len(running) == 0 {
			return "", errors.New("service has no running container")
		}
		return containerAddress(running[0], port, eng)
	}
}

// containerAddress returns where the host reaches a container's port: the
// container's own address on a native Linux engine, else the port that
// Docker publishes for it.
func containerAddress(c engine.Container, port int, eng Engine) (string, error) {
	if eng.HostCanReachContainerIPs() && len(c.IPs) > 0 {
		return net.JoinHostPort(c.IPs[0], strconv.Itoa(port)), nil
	}
	for _, b := range c.Ports {
		if b.ContainerPort == port && b.HostPort != 0 && (b.Proto == "" || b.Proto == "tcp") {
			host := b.HostIP
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			return net.JoinHostPort(host, strconv.Itoa(b.HostPort)), nil
		}
	}
	return "", fmt.Errorf("container %s is not reachable from the host on port %d: publish the port on 127.0.0.1 in the Compose file", c.Name, port)
}

// protocolOf picks how the proxy reads a debugger's traffic: the Node
// inspector's HTTP and WebSocket, Delve's raw bytes, or by what the
// debugger sends first when the runtime is unknown.
func protocolOf(runtime string) string {
	switch runtime {
	case "node":
		return debug.ProtocolNode
	case "go":
		return debug.ProtocolTCP
	}
	return debug.ProtocolDetect
}

func publish(bus *event.Bus, e event.Event) {
	if bus != nil {
		bus.Publish(e)
	}
}

func runtimeOf(svc compose.Service, port int) string {
	for _, d := range svc.Debug {
		if d.Port == port {
			return d.Runtime
		}
	}
	return ""
}

func serviceByName(services []compose.Service, name string) compose.Service {
	for _, s := range services {
		if s.Name == name {
			return s
		}
	}
	return compose.Service{Name: name}
}

// CheckDebugPorts reports, before anything starts, the debug listen
// addresses that cannot be used: taken, invalid, or not loopback without
// allow_remote. The error wraps ErrInvalidConfig.
func CheckDebugPorts(services []compose.Service) error {
	var reqs []debug.Request
	for _, svc := range services {
		if !svc.Watch {
			continue
		}
		for _, d := range svc.Debug {
			reqs = append(reqs, debug.Request{Service: svc.Name, Port: d.Port, Listen: d.Listen, AllowRemote: d.AllowRemote})
		}
	}
	if _, err := debug.Allocate(reqs, debug.PortFree); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}
