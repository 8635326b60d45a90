package daemon

import (
	"context"
	"errors"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devdtool/devd/debug"
	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// fakeDelveServer answers the JSON-RPC calls that devd's Delve client and
// a debugger make, with Delve's method names and wire format. running is
// the program's state; stateCalls counts the state requests.
type fakeDelveServer struct {
	running    atomic.Bool
	stateCalls atomic.Int32
}

// RPCServer is the service name Delve registers.
type RPCServer struct{ f *fakeDelveServer }

func (s *RPCServer) SetApiVersion(api.SetAPIVersionIn, *api.SetAPIVersionOut) error { return nil }

func (s *RPCServer) GetVersion(_ api.GetVersionIn, out *api.GetVersionOut) error {
	out.APIVersion = 2
	return nil
}

func (s *RPCServer) State(_ rpc2.StateIn, out *rpc2.StateOut) error {
	s.f.stateCalls.Add(1)
	out.State = &api.DebuggerState{Running: s.f.running.Load()}
	return nil
}

func (s *RPCServer) Command(cmd api.DebuggerCommand, out *rpc2.CommandOut) error {
	if cmd.Name != api.Halt {
		return errors.New("the fake only halts")
	}
	s.f.running.Store(false)
	out.State = api.DebuggerState{}
	return nil
}

func startFakeDelveServer(t *testing.T) (*fakeDelveServer, string) {
	t.Helper()
	f := &fakeDelveServer{}
	f.running.Store(true)
	srv := rpc.NewServer()
	if err := srv.Register(&RPCServer{f: f}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.ServeCodec(jsonrpc.NewServerCodec(c))
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return f, l.Addr().String()
}

func TestDelvePausedAsksMulticlientDelve(t *testing.T) {
	f, addr := startFakeDelveServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resolveErr := atomic.Bool{}
	resolve := func(context.Context) (string, error) {
		if resolveErr.Load() {
			return "", errors.New("service is restarting")
		}
		return addr, nil
	}
	p := debug.NewProxy(debug.ProxyConfig{Listener: ln, Resolve: resolve, Protocol: debug.ProtocolTCP})
	go func() { _ = p.Serve(context.Background()) }()
	t.Cleanup(func() { _ = p.Close() })
	paused := delvePaused(p, resolve)

	// Nothing seen through the proxy: Delve is not asked.
	if paused() {
		t.Fatal("paused before any debugger stopped the program")
	}
	if n := f.stateCalls.Load(); n != 0 {
		t.Fatalf("Delve was asked %d times while the proxy saw no stop", n)
	}

	// A debugger halts the program through the proxy; Delve confirms.
	conn, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := jsonrpc.NewClient(conn)
	if err := client.Call("RPCServer.Command", api.DebuggerCommand{Name: api.Halt}, new(rpc2.CommandOut)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !p.Paused() {
		if time.Now().After(deadline) {
			t.Fatal("the proxy did not see the halt")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !paused() {
		t.Fatal("not paused after a halt that Delve confirms")
	}

	// While Delve cannot be reached, the proxy's state is used.
	resolveErr.Store(true)
	if !paused() {
		t.Error("not paused while Delve cannot be asked")
	}
	resolveErr.Store(false)

	// Another client resumed the program without the proxy seeing it.
	f.running.Store(true)
	if paused() {
		t.Error("paused while Delve says the program runs")
	}
	if p.Paused() {
		t.Error("the proxy still shows the program paused after Delve said it runs")
	}
}
