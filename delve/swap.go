package delve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// Time limits of a swap.
const (
	// DialTimeout bounds connecting to Delve and its first responses.
	DialTimeout = 2 * time.Second
	// SwapTimeout bounds a whole swap when the caller's context has no
	// deadline. Restarting reads the new binary's debug information, which
	// takes a few hundred milliseconds for a large service.
	SwapTimeout = 30 * time.Second
)

// ErrSingleClient means the Delve server accepts only one client. devd
// never connects to such a server on purpose: its only connection slot
// would be taken and Delve ends the program when that connection closes.
var ErrSingleClient = errors.New("delve accepts a single client, and devd never connects to such a server: " +
	"start it with `dlv exec BINARY --headless --listen=:2345 --api-version=2 --accept-multiclient --continue`")

// SwapResult describes a finished swap.
type SwapResult struct {
	// Duration is the time from the start of the swap until the continue
	// request for the new program was sent.
	Duration time.Duration
	// Discarded lists the breakpoints Delve could not set again in the new
	// binary, for example because their line no longer holds code.
	Discarded []api.DiscardedBreakpoint
	// OtherClientRuns is true when another client, a DAP client such as VS
	// Code, was running the program and keeps control of it: the swap sent
	// no continue of its own. That client either resumed the new program
	// or reported it stopped to its user.
	OtherClientRuns bool
}

// Swap restarts the program of the Delve server at addr from its binary's
// path, so that a new binary copied over the old one runs under the same
// server. It halts the program, restarts it without rebuilding, makes sure
// it runs, and disconnects without waiting for it to stop. Breakpoints are
// set again in the new process; other clients stay connected.
//
// Call it only when [CanSwap] is true for the service's command line. If
// the server turns out to accept one client, Swap returns [ErrSingleClient]
// and that server ends with its program. Swap returns the time the swap
// took; the caller waits for the program to serve.
func Swap(ctx context.Context, addr string) (time.Duration, error) {
	res, err := SwapDetailed(ctx, addr)

	return res.Duration, err
}

// SwapDetailed is [Swap] with the details of the result.
func SwapDetailed(ctx context.Context, addr string) (SwapResult, error) {
	start := time.Now()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, SwapTimeout)
		defer cancel()
	}

	s, err := dialSession(ctx, addr, DialTimeout)
	if err != nil {
		return SwapResult{}, fmt.Errorf("swapping binary under delve at %s: %w", addr, err)
	}
	defer s.close()

	res, err := s.swap(ctx)
	if err != nil {
		return SwapResult{}, fmt.Errorf("swapping binary under delve at %s: %w", addr, err)
	}
	res.Duration = time.Since(start)

	return res, nil
}

func (s *session) swap(ctx context.Context) (SwapResult, error) {
	var res SwapResult

	halt := s.send("Command", api.DebuggerCommand{Name: api.Halt}, new(rpc2.CommandOut))
	// A program that has exited cannot be halted but can be restarted.
	if err := s.awaitStopped(ctx, halt, true); err != nil && !isExited(err) {
		return res, fmt.Errorf("halting program: %w", err)
	}

	// A DAP client that was running the program resumes it after the halt.
	// It then either resumes the new program too or reports it stopped to
	// its user. Either way it keeps control, because a continue from devd
	// would hide the next breakpoint from it.
	other, err := s.resumedByOther(ctx, resumeSettle)
	if err != nil && !isExited(err) {
		return res, fmt.Errorf("reading state of halted program: %w", err)
	}

	// Rebuilding is for programs Delve compiled itself; `dlv exec` refuses
	// it. Delve executes the same path again, so a binary copied over the
	// old one, even as a new file, is what runs.
	var out rpc2.RestartOut
	restart := s.send("Restart", rpc2.RestartIn{Rebuild: false}, &out)
	if err := s.awaitStopped(ctx, restart, false); err != nil {
		return res, fmt.Errorf("restarting program: %w", err)
	}
	res.Discarded = out.DiscardedBreakpoints

	if !other {
		// A client may have resumed the new program in the meantime.
		if other, err = s.running(ctx); err != nil {
			return res, fmt.Errorf("reading state of new program: %w", err)
		}
	}
	if other {
		res.OtherClientRuns = true
		return res, nil
	}

	// Delve responds to a continue only when the program stops again, so
	// the request is written and the connection closed without waiting, as
	// dlv's own --continue does. A multiclient server keeps the program
	// running when a client leaves.
	s.send("Command", api.DebuggerCommand{Name: api.Continue}, new(rpc2.CommandOut))

	return res, nil
}
