// Command proxy-bench measures what devd's debug proxy adds to a debugger's
// round trips: it starts a Node.js process with the inspector on loopback,
// puts a devd proxy in front of it, and times a small inspector command
// (Runtime.evaluate of 1+1) over a WebSocket opened directly and one opened
// through the proxy, alternating so that both see the same machine load.
//
//	go run ./bench/cmd/proxy-bench [-n 2000] [-node /usr/bin/node]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/devdtool/devd/debug"
	"github.com/gorilla/websocket"
)

func main() {
	n := flag.Int("n", 2000, "round trips per connection")
	node := flag.String("node", "/usr/bin/node", "Node.js binary")
	flag.Parse()
	if err := run(*n, *node); err != nil {
		fmt.Fprintln(os.Stderr, "proxy-bench:", err)
		os.Exit(1)
	}
}

var listening = regexp.MustCompile(`ws://127\.0\.0\.1:(\d+)/`)

func run(n int, node string) error {
	cmd := exec.Command(node, "--inspect=127.0.0.1:0", "-e", "setInterval(() => {}, 1000)")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting node: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	port := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			port = m[1]
			break
		}
	}
	if port == "" {
		return errors.New("node did not print its inspector address")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	direct := "127.0.0.1:" + port

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	proxy := debug.NewProxy(debug.ProxyConfig{
		Listener: ln,
		Resolve:  func(context.Context) (string, error) { return direct, nil },
		Protocol: debug.ProtocolNode,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = proxy.Serve(ctx) }()
	defer proxy.Close()

	directConn, err := attach(direct)
	if err != nil {
		return fmt.Errorf("attaching directly: %w", err)
	}
	defer directConn.Close()
	proxiedConn, err := attach(ln.Addr().String())
	if err != nil {
		return fmt.Errorf("attaching through the proxy: %w", err)
	}
	defer proxiedConn.Close()

	var directTimes, proxiedTimes []time.Duration
	for i := 0; i < n; i++ {
		d, err := roundTrip(directConn, i)
		if err != nil {
			return err
		}
		p, err := roundTrip(proxiedConn, i)
		if err != nil {
			return err
		}
		directTimes = append(directTimes, d)
		proxiedTimes = append(proxiedTimes, p)
	}

	fmt.Printf("Runtime.evaluate round trips, %d each, alternating\n", n)
	fmt.Printf("%-10s %10s %10s\n", "path", "median", "p90")
	dm, d90 := stats(directTimes)
	pm, p90 := stats(proxiedTimes)
	fmt.Printf("%-10s %10s %10s\n", "direct", dm, d90)
	fmt.Printf("%-10s %10s %10s\n", "proxied", pm, p90)
	fmt.Printf("proxy adds %s at the median (%.2fx)\n", pm-dm, float64(pm)/float64(dm))
	return nil
}

// attach opens the inspector's WebSocket found through /json/list at addr.
func attach(addr string) (*websocket.Conn, error) {
	resp, err := http.Get("http://" + addr + "/json/list")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var targets []struct {
		URL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil || len(targets) == 0 {
		return nil, fmt.Errorf("reading /json/list: %v", err)
	}
	if !strings.Contains(targets[0].URL, addr) {
		return nil, fmt.Errorf("target URL %s does not point at %s", targets[0].URL, addr)
	}
	conn, _, err := websocket.DefaultDialer.Dial(targets[0].URL, nil)
	return conn, err
}

func roundTrip(conn *websocket.Conn, id int) (time.Duration, error) {
	start := time.Now()
	req := map[string]any{"id": id, "method": "Runtime.evaluate", "params": map[string]any{"expression": "1+1"}}
	if err := conn.WriteJSON(req); err != nil {
		return 0, err
	}
	for {
		var resp struct {
			ID int `json:"id"`
		}
		if err := conn.ReadJSON(&resp); err != nil {
			return 0, err
		}
		if resp.ID == id {
			return time.Since(start), nil
		}
	}
}

func stats(ds []time.Duration) (median, p90 time.Duration) {
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[len(sorted)/2].Round(time.Microsecond), sorted[len(sorted)*9/10].Round(time.Microsecond)
}
