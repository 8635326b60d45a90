// Package debug keeps the debug ports of Compose services reachable on
// stable host ports, so that an IDE debugger attaches once and stays usable
// while devd restarts and recreates the service's containers.
//
// It has three parts. Detect finds the Node.js inspector and Delve ports in
// a service's command line. Allocate picks a host address for each debug
// port, the same one from one run to the next. A Proxy listens on that
// address and forwards each connection to the service's current container,
// which it looks up again for every connection.
//
// # Loopback by default
//
// Anyone who can connect to a debugger port can run any code in the
// debugged process: it is remote code execution by design. Proxies
// therefore listen on 127.0.0.1 unless the user names another address and
// sets `allow_remote: true` under `x-devd.debug`. Allocate rejects a remote
// address without it.
//
// # Node.js inspector
//
// The inspector answers its HTTP endpoints (/json/list, /json/version) and
// WebSocket upgrades only when the request's Host header is empty, an IP
// address or "localhost". Any other name gets HTTP 400, which guards
// against DNS rebinding. It builds the webSocketDebuggerUrl of /json/list
// from the Host header it received. The Proxy forwards bytes without
// reading them, so a debugger that connects to 127.0.0.1 or localhost on
// the proxy's port gets back a URL with the proxy's port and needs no
// rewriting. A host name other than localhost in front of the proxy (a
// machine name, a name in /etc/hosts) is rejected by the inspector itself.
//
// `--inspect` without a host listens on 127.0.0.1 inside the container,
// which no proxy can reach; Detect reports such ports as LoopbackOnly so
// that devd can say to use `--inspect=0.0.0.0:9229`.
//
// Each Node.js process start gets a new target id and ends the old
// WebSocket sessions. Debuggers such as VS Code with `restart: true` retry
// every second and rediscover the id through /json/list. For that to work
// the Proxy closes a connection at once when the service is down or does
// not accept connections, rather than leaving it hanging, and devd
// calls CloseConnections when the service restarts.
//
// # Delve
//
// A headless Delve serves JSON-RPC and DAP on one port. Without
// `--accept-multiclient` the first connection takes its only client slot,
// so nothing here probes a Delve port: the Proxy dials the target only when
// a debugger connects.
package debug
