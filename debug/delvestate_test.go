package debug

import (
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

func TestDelveScannerFindsMessages(t *testing.T) {
	jsonMsgs := []string{
		`{"method":"RPCServer.Command","params":[{"name":"continue"}],"id":1}`,
		`{"id":1,"result":{"State":{"Running":false,"note":"a } and a \" and a \\"}},"error":null}`,
		`{"id":2,"result":{"list":[{"a":[1,2]},{}]},"error":null}`,
	}
	dapMsgs := []string{
		`{"seq":1,"type":"event","event":"stopped","body":{"reason":"breakpoint"}}`,
		`{"seq":2,"type":"response","command":"continue","success":true}`,
	}
	var dap strings.Builder
	for _, m := range dapMsgs {
		fmt.Fprintf(&dap, "Content-Length: %d\r\n\r\n%s", len(m), m)
	}
	for _, tc := range []struct {
		name   string
		stream string
		want   []string
	}{
		{"json-rpc", strings.Join(jsonMsgs, "\n") + "\n", jsonMsgs},
		{"dap", dap.String(), dapMsgs},
		{"other protocol", "GET / HTTP/1.1\r\n\r\n{}", nil},
	} {
		for _, chunk := range []int{1, 3, len(tc.stream)} {
			t.Run(fmt.Sprintf("%s in chunks of %d", tc.name, chunk), func(t *testing.T) {
				var got []string
				s := newDelveScanner(func(m []byte) { got = append(got, string(m)) })
				for b := []byte(tc.stream); len(b) > 0; {
					n := min(chunk, len(b))
					if w, err := s.Write(b[:n]); w != n || err != nil {
						t.Fatalf("Write = %d, %v", w, err)
					}
					b = b[n:]
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("messages\n%q\nwant\n%q", got, tc.want)
				}
			})
		}
	}
}

func TestDelveScannerSkipsLargeMessages(t *testing.T) {
	large := `{"id":1,"result":{"data":"` + strings.Repeat("x", maxDelveMessage) + `"}}`
	small := `{"id":2,"result":{"State":{"Running":true}}}`
	var got []string
	s := newDelveScanner(func(m []byte) { got = append(got, string(m)) })
	_, _ = s.Write([]byte(large + small))
	if !slices.Equal(got, []string{small}) {
		t.Errorf("got %d messages, want only the small one", len(got))
	}
}

func TestDelveStateFromMessages(t *testing.T) {
	for _, tc := range []struct {
		msg               string
		running, reqKnown bool
		paused, resKnown  bool
	}{
		{msg: `{"method":"RPCServer.Command","params":[{"name":"continue"}],"id":1}`, running: true, reqKnown: true},
		{msg: `{"method":"RPCServer.Command","params":[{"name":"next"}],"id":1}`, running: true, reqKnown: true},
		{msg: `{"method":"RPCServer.Command","params":[{"name":"halt"}],"id":1}`},
		{msg: `{"method":"RPCServer.Restart","params":[{}],"id":1}`, running: true, reqKnown: true},
		{msg: `{"method":"RPCServer.State","params":[{"NonBlocking":true}],"id":1}`},
		{msg: `{"id":1,"result":{"State":{"Running":false,"Exited":false}},"error":null}`, paused: true, resKnown: true},
		{msg: `{"id":1,"result":{"State":{"Running":true}},"error":null}`, resKnown: true},
		{msg: `{"id":1,"result":{"State":{"Running":false,"Exited":true}},"error":null}`, resKnown: true},
		{msg: `{"id":1,"result":null,"error":"Process 42 has exited with status 0"}`, resKnown: true},
		{msg: `{"id":1,"result":{"Breakpoint":{"id":1}},"error":null}`},
		{msg: `{"seq":3,"type":"event","event":"stopped","body":{}}`, paused: true, resKnown: true},
		{msg: `{"seq":3,"type":"event","event":"continued","body":{}}`, resKnown: true},
		{msg: `{"seq":3,"type":"event","event":"terminated"}`, resKnown: true},
		{msg: `{"seq":3,"type":"event","event":"output"}`},
		{msg: `{"seq":3,"type":"response","command":"stepIn","success":true}`, resKnown: true},
		{msg: `{"seq":3,"type":"response","command":"stackTrace","success":true}`},
		{msg: `not json`},
	} {
		if running, known := delveRequestState([]byte(tc.msg)); running != tc.running || known != tc.reqKnown {
			t.Errorf("request %s: running %v known %v, want %v %v", tc.msg, running, known, tc.running, tc.reqKnown)
		}
		if paused, known := delveResponseState([]byte(tc.msg)); paused != tc.paused || known != tc.resKnown {
			t.Errorf("response %s: paused %v known %v, want %v %v", tc.msg, paused, known, tc.paused, tc.resKnown)
		}
	}
}

// fakeDelve is a JSON-RPC server with Delve's method names and wire format:
// a continue waits until the test stops the program.
type fakeDelve struct {
	mu      sync.Mutex
	running bool
	stop    chan struct{}
}

// RPCServer is the service name Delve registers.
type RPCServer struct{ d *fakeDelve }

func (s *RPCServer) Command(cmd api.DebuggerCommand, out *rpc2.CommandOut) error {
	d := s.d
	switch cmd.Name {
	case api.Continue:
		d.mu.Lock()
		d.running = true
		d.mu.Unlock()
		<-d.stop
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
		out.State = api.DebuggerState{CurrentThread: &api.Thread{Breakpoint: &api.Breakpoint{ID: 1}}}
	case api.Halt:
		out.State = api.DebuggerState{}
	default:
		return errors.New("unknown command")
	}

	return nil
}

func (s *RPCServer) State(_ rpc2.StateIn, out *rpc2.StateOut) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	out.State = &api.DebuggerState{Running: s.d.running}

	return nil
}

// startFakeDelve serves a fakeDelve on loopback until the test ends.
func startFakeDelve(t *testing.T) (*fakeDelve, string) {
	t.Helper()
	d := &fakeDelve{stop: make(chan struct{})}
	srv := rpc.NewServer()
	if err := srv.Register(&RPCServer{d: d}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
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
		close(d.stop)
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})

	return d, l.Addr().String()
}

func TestProxyFollowsDelvePause(t *testing.T) {
	for _, protocol := range []string{ProtocolTCP, ProtocolDetect} {
		t.Run("protocol "+protocol, func(t *testing.T) {
			d, addr := startFakeDelve(t)
			p := startProxy(t, ProxyConfig{Resolve: fixed(addr), Service: "app", Port: 2345, Protocol: protocol})
			first := jsonrpc.NewClient(dial(t, p))
			second := jsonrpc.NewClient(dial(t, p))
			call := func(c *rpc.Client, name string) *rpc.Call {
				return c.Go("RPCServer.Command", api.DebuggerCommand{Name: name}, new(rpc2.CommandOut), make(chan *rpc.Call, 1))
			}

			// A halt stops the program.
			if c := <-call(first, api.Halt).Done; c.Error != nil {
				t.Fatal(c.Error)
			}
			waitFor(t, "the halt to show as paused", p.Paused)

			// A continue runs it until the program stops at a breakpoint.
			cont := call(first, api.Continue)
			waitFor(t, "the continue to show as running", func() bool { return !p.Paused() })
			d.stop <- struct{}{}
			if c := <-cont.Done; c.Error != nil {
				t.Fatal(c.Error)
			}
			waitFor(t, "the stop at the breakpoint to show as paused", p.Paused)

			// The other client resumes it: the program is one.
			cont = call(second, api.Continue)
			waitFor(t, "the other client's continue to show as running", func() bool { return !p.Paused() })
			var st rpc2.StateOut
			if err := first.Call("RPCServer.State", rpc2.StateIn{NonBlocking: true}, &st); err != nil || !st.State.Running {
				t.Fatalf("State: %+v, %v", st.State, err)
			}
			if p.Paused() {
				t.Error("paused after a State that says the program runs")
			}
			d.stop <- struct{}{}
			<-cont.Done
			waitFor(t, "the second stop to show as paused", p.Paused)

			// devd resumed the program itself.
			p.ForgetPause()
			if p.Paused() {
				t.Error("paused after ForgetPause")
			}
			if c := <-call(first, api.Halt).Done; c.Error != nil {
				t.Fatal(c.Error)
			}
			waitFor(t, "the halt to show as paused again", p.Paused)

			// Without a connection no debugger holds the program.
			_ = first.Close()
			_ = second.Close()
			waitFor(t, "the closed connections to end the pause", func() bool { return !p.Paused() })
		})
	}
}
