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
// The inspector serves its HTTP endpoints (/json/list, /json/version) and
// WebSocket upgrades only when the request's Host header is empty, an IP
// address or "localhost". Any other name gets HTTP 400, which guards
// against DNS rebinding. It builds the webSocketDebuggerUrl of /json/list
// from the Host header it received, and from its own address when there is
// none.
//
// A Proxy therefore reads the inspector's HTTP (ProtocolNode, or
// ProtocolDetect when the debugger's first bytes are an HTTP request). It
// sends the inspector a Host it accepts, and writes the host and port the
// debugger used into the URLs of the responses. A debugger thus attaches
// by any name for the host: an IP, localhost, or a name in /etc/hosts. A
// request without a Host gets the proxy's own address, never the
// container's. Since the inspector's own guard no longer applies, the
// Proxy refuses a WebSocket session whose Origin header comes from a web
// page that is not on a loopback address (see checkOrigin).
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
// calls CloseConnections when the service restarts. A debugger that comes
// back to the URL of an earlier process is sent to the current one, for
// target ids the inspector reported through the Proxy.
//
// The Proxy follows the CDP events Debugger.paused and Debugger.resumed on
// each session, so that devd can tell (Paused) whether a debugger holds the
// program at a breakpoint.
//
// # Same user only
//
// On Linux a Proxy accepts a local connection only from a process of the
// user running devd, looked up in /proc/net/tcp and /proc/net/tcp6, so that
// other users of a shared machine cannot take over the service through its
// debugger. ProxyConfig.AllowOtherUsers turns this off.
//
// # Delve
//
// A headless Delve serves JSON-RPC and DAP on one port. Without
// `--accept-multiclient` the first connection takes its only client slot,
// so nothing here probes a Delve port: the Proxy dials the target only when
// a debugger connects.
//
// The Proxy still forwards Delve's connections as bytes, but reads a copy
// of them to follow whether the program is paused. It reads Delve's
// JSON-RPC responses that carry the debugger state (Command, State), the
// debuggers' commands that let the program run (continue, next, step and
// the like, Restart), and DAP's stopped and continued events. The state is one per
// Proxy, updated by every connection, because several clients of a
// multi-client server drive one program.
package debug
