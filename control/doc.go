// Package control is devd's control API. It contains the HTTP/1.1 JSON API
// on a Unix socket, which `devd status`, `devd logs` and the other commands
// use to reach the running daemon, and the client for it. It also renders
// devd's events for a terminal and serves the web dashboard on a loopback
// TCP address.
//
// # Security
//
// The socket lives in a folder that only the current user may enter, has
// mode 0600, and the server also checks each peer's user ID, so only the user
// who runs devd can drive it. The dashboard listens on loopback only, rejects
// Host headers that do not name a loopback address (DNS rebinding), and
// accepts state-changing requests only with a custom header and a same-origin
// check (cross-site requests).
package control
