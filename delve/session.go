package delve

import (
	"context"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"sync"
	"time"

	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// How a swap deals with another client that resumes the program.
const (
	// haltRetryInterval is how often a swap checks whether another client
	// has resumed the program while a request that needs it stopped waits.
	haltRetryInterval = 25 * time.Millisecond
	// maxHalts bounds the halts one wait sends; the swap's deadline ends a
	// wait that needs more.
	maxHalts = 64
	// resumeSettle is how long a swap watches the halted program for
	// another client resuming it, in settleChecks checks.
	resumeSettle = 20 * time.Millisecond
	settleChecks = 4
)

// session is the connection a swap runs on. Unlike Client, it uses net/rpc
// directly, because a swap must know that a request is written before it
// sends the next one. Delve reads the requests of one connection in order,
// so a halt written before the final continue cannot stop the new program.
//
// A session is used by one goroutine.
type session struct {
	conn      net.Conn
	rpc       *rpc.Client
	closeOnce sync.Once
}

// dialSession connects and checks that the server accepts several clients.
func dialSession(ctx context.Context, addr string, timeout time.Duration) (*session, error) {
	conn, err := dialConn(ctx, addr, timeout)
	if err != nil {
		return nil, err
	}
	s := &session{conn: conn, rpc: jsonrpc.NewClient(conn)}

	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.call(hctx, "SetApiVersion", api.SetAPIVersionIn{APIVersion: 2}, &api.SetAPIVersionOut{}); err != nil {
		s.close()
		return nil, fmt.Errorf("connecting to delve at %s: %w", addr, err)
	}
	var multi rpc2.IsMulticlientOut
	if err := s.call(hctx, "IsMulticlient", rpc2.IsMulticlientIn{}, &multi); err != nil {
		s.close()
		return nil, fmt.Errorf("asking delve at %s for multiclient mode: %w", addr, err)
	}
	if !multi.IsMulticlient {
		s.close()
		return nil, ErrSingleClient
	}

	return s, nil
}

func (s *session) close() {
	s.closeOnce.Do(func() { _ = s.conn.Close() })
}

// send writes a request and returns at once; the request is on the wire
// when send returns.
func (s *session) send(method string, args, reply any) *rpc.Call {
	return s.rpc.Go("RPCServer."+method, args, reply, make(chan *rpc.Call, 1))
}

// call sends a request and waits for its response, closing the session
// when ctx ends first.
func (s *session) call(ctx context.Context, method string, args, reply any) error {
	return s.wait(ctx, s.send(method, args, reply))
}

func (s *session) wait(ctx context.Context, c *rpc.Call) error {
	select {
	case <-c.Done:
		return c.Error
	case <-ctx.Done():
		s.close()
		return ctx.Err()
	}
}

// running reports whether the program runs, without waiting for it to stop.
func (s *session) running(ctx context.Context) (bool, error) {
	var out rpc2.StateOut
	if err := s.call(ctx, "State", rpc2.StateIn{NonBlocking: true}, &out); err != nil {
		return false, err
	}

	return out.State != nil && out.State.Running, nil
}

// awaitStopped waits for c, a request Delve serves only while the program
// is stopped, and for the halts it sends on the way. A DAP client (VS Code)
// that is running the program continues it after every halt it did not ask
// for itself, so c may wait until the next breakpoint; while c waits and the
// program runs, awaitStopped asks Delve to halt it again. A check made while
// Delve serves c waits for c, so it never halts the program c starts.
//
// With keepHalts false, halts still waiting when c is answered are left
// behind: they answer once they get the program, or when the session
// closes.
func (s *session) awaitStopped(ctx context.Context, c *rpc.Call, keepHalts bool) error {
	tick := time.NewTicker(haltRetryInterval)
	defer tick.Stop()
	var (
		haltDone  = make(chan *rpc.Call, maxHalts)
		halts     int // sent, response pending
		sent      int
		probe     *rpc.Call
		probeDone <-chan *rpc.Call // nil while no check is in flight
		probeOut  rpc2.StateOut
		cDone     = c.Done
	)
	for {
		if cDone == nil && (!keepHalts || halts == 0) {
			return c.Error
		}
		select {
		case <-cDone:
			cDone = nil
		case <-haltDone:
			halts--
		case <-ctx.Done():
			s.close()
			return ctx.Err()
		case <-tick.C:
			if probeDone == nil {
				probeOut = rpc2.StateOut{}
				probe = s.send("State", rpc2.StateIn{NonBlocking: true}, &probeOut)
				probeDone = probe.Done
			}
		case <-probeDone:
			probeDone = nil
			running := probe.Error == nil && probeOut.State != nil && probeOut.State.Running
			if running && sent < maxHalts {
				s.rpc.Go("RPCServer.Command", api.DebuggerCommand{Name: api.Halt}, new(rpc2.CommandOut), haltDone)
				halts++
				sent++
			}
		}
	}
}

// resumedByOther watches the program for settle after devd's halts have
// returned and reports whether another client resumed it. A DAP client
// does so within a millisecond of getting the program back.
func (s *session) resumedByOther(ctx context.Context, settle time.Duration) (bool, error) {
	tick := time.NewTicker(settle / settleChecks)
	defer tick.Stop()
	for range settleChecks {
		running, err := s.running(ctx)
		if err != nil || running {
			return running, err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}

	return false, nil
}
