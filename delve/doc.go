// Package delve drives a Delve debug server over its JSON-RPC API, so that a
// Go service running under `dlv exec` can take a rebuilt binary without
// losing its debug server, its breakpoints or its connected debuggers.
//
// # Never probe a single-client server
//
// Delve started without --accept-multiclient serves exactly one connection:
// the first one, even a bare port probe, takes the only slot, and when that
// connection closes Delve kills the program and exits. Connecting to find
// out would cause exactly that, so the mode is read from the command line.
// Call [CanSwap] (or [MulticlientFromArgs]) on the service's entrypoint and
// command, and call [Dial] or [Swap] only when it returns true.
//
// # Swapping a binary
//
// [Swap] assumes the new binary is already at the path Delve executed. It
// halts the program, asks Delve to restart it without rebuilding (Delve
// executes the path again, so a file replaced with a new inode is picked
// up), resumes it, and closes its own connection. Breakpoints are set again
// in the new process and other clients stay connected.
//
// A DAP client (VS Code) that is running the program resumes it after every
// halt it did not ask for. Swap detects this, halts again until Delve
// restarts the program, and then leaves the new program to that client: a
// continue from devd would hide the next breakpoint from it. With Delve
// v1.27.2 the client is then told that the program stopped, and its user
// continues it from the IDE; [SwapResult.OtherClientRuns] reports the case.
// A client that had the program paused at a breakpoint is not told about
// the restart: the program runs again while the IDE still shows it paused.
//
// # Blocking calls
//
// Many Delve calls answer only when the program stops. Every method of
// [Client] takes a context, and a call cut short by it closes the client's
// connection; the Delve server and its other clients are not affected.
//
// # Platforms
//
// Importing this package compiles Delve's debugger into the program. It
// builds without cgo on linux and darwin (amd64, arm64) and windows/amd64;
// Delve does not build on 32-bit ARM or riscv64.
package delve
