package debug

import (
	"net"
	"reflect"
	"strings"
	"testing"
)

// busy returns a probe that reports the given addresses as in use.
func busy(addrs ...string) func(string) bool {
	return func(addr string) bool {
		for _, a := range addrs {
			if a == addr {
				return false
			}
		}
		return true
	}
}

func TestAllocate(t *testing.T) {
	type result struct {
		service string
		port    int
		addr    string
	}
	tests := []struct {
		name     string
		reqs     []Request
		free     func(string) bool
		want     []result
		wantErrs []string // substrings the error must contain
	}{
		{
			name: "defaults on their own port, ordered by service then port",
			reqs: []Request{{Service: "notification", Port: 9223}, {Service: "api", Port: 9229}, {Service: "api", Port: 2345}},
			free: busy(),
			want: []result{{"api", 2345, "127.0.0.1:2345"}, {"api", 9229, "127.0.0.1:9229"}, {"notification", 9223, "127.0.0.1:9223"}},
		},
		{
			name: "same port in two services goes upwards",
			reqs: []Request{{Service: "worker", Port: 9229}, {Service: "api", Port: 9229}},
			free: busy(),
			want: []result{{"api", 9229, "127.0.0.1:9229"}, {"worker", 9229, "127.0.0.1:9230"}},
		},
		{
			name: "busy default skips to the next free port",
			reqs: []Request{{Service: "api", Port: 9229}, {Service: "web", Port: 9229}},
			free: busy("127.0.0.1:9229", "127.0.0.1:9231"),
			want: []result{{"api", 9229, "127.0.0.1:9230"}, {"web", 9229, "127.0.0.1:9232"}},
		},
		{
			name: "explicit address is served before defaults",
			reqs: []Request{{Service: "api", Port: 9229}, {Service: "web", Port: 9229, Listen: "127.0.0.1:9229"}},
			free: busy(),
			want: []result{{"api", 9229, "127.0.0.1:9230"}, {"web", 9229, "127.0.0.1:9229"}},
		},
		{
			name: "remote wildcard blocks the same port on loopback",
			reqs: []Request{{Service: "api", Port: 9229}, {Service: "web", Port: 9229, Listen: "0.0.0.0:9229", AllowRemote: true}},
			free: busy(),
			want: []result{{"api", 9229, "127.0.0.1:9230"}, {"web", 9229, "0.0.0.0:9229"}},
		},
		{
			name: "bare port means loopback",
			reqs: []Request{{Service: "api", Port: 9229, Listen: "19229"}},
			free: busy(),
			want: []result{{"api", 9229, "127.0.0.1:19229"}},
		},
		{
			name: "localhost and ipv6 loopback are loopback",
			reqs: []Request{{Service: "api", Port: 9229, Listen: "localhost:19229"}, {Service: "web", Port: 9229, Listen: "[::1]:19229"}},
			free: busy(),
			want: []result{{"api", 9229, "localhost:19229"}, {"web", 9229, "[::1]:19229"}},
		},
		{
			name:     "explicit address in use",
			reqs:     []Request{{Service: "api", Port: 9229, Listen: "127.0.0.1:19229"}},
			free:     busy("127.0.0.1:19229"),
			wantErrs: []string{`service "api" debug port 9229`, "127.0.0.1:19229 is in use", "x-devd.debug", "stop the program"},
		},
		{
			name:     "remote address without allow_remote",
			reqs:     []Request{{Service: "api", Port: 9229, Listen: "0.0.0.0:9229"}},
			free:     busy(),
			wantErrs: []string{`service "api"`, "0.0.0.0:9229 is not a loopback address", "remote code execution", "allow_remote: true"},
		},
		{
			name:     "all interfaces without a host is remote",
			reqs:     []Request{{Service: "api", Port: 9229, Listen: ":9229"}},
			free:     busy(),
			wantErrs: []string{":9229 is not a loopback address"},
		},
		{
			name: "remote address with allow_remote",
			reqs: []Request{{Service: "api", Port: 9229, Listen: "192.168.1.10:9229", AllowRemote: true}},
			free: busy(),
			want: []result{{"api", 9229, "192.168.1.10:9229"}},
		},
		{
			name:     "two services ask for one address",
			reqs:     []Request{{Service: "web", Port: 9229, Listen: "localhost:9229"}, {Service: "api", Port: 9229, Listen: "127.0.0.1:9229"}},
			free:     busy(),
			want:     []result{{"api", 9229, "127.0.0.1:9229"}},
			wantErrs: []string{`service "web" debug port 9229: listen address localhost:9229 is also requested by service "api" debug port 9229`},
		},
		{
			name:     "invalid listen address",
			reqs:     []Request{{Service: "api", Port: 9229, Listen: "127.0.0.1"}, {Service: "web", Port: 9229, Listen: "127.0.0.1:99999"}},
			free:     busy(),
			wantErrs: []string{`service "api" debug port 9229: reading listen address "127.0.0.1"`, `service "web" debug port 9229: reading listen address "127.0.0.1:99999"`},
		},
		{
			name:     "invalid container port",
			reqs:     []Request{{Service: "api", Port: 0}, {Service: "web", Port: 70000}},
			free:     busy(),
			wantErrs: []string{`service "api": debug port 0 is out of range`, `service "web": debug port 70000 is out of range`},
		},
		{
			name:     "duplicate request",
			reqs:     []Request{{Service: "api", Port: 9229}, {Service: "api", Port: 9229}},
			free:     busy(),
			want:     []result{{"api", 9229, "127.0.0.1:9229"}},
			wantErrs: []string{`service "api": debug port 9229 is duplicated`},
		},
		{
			name:     "no free port left",
			reqs:     []Request{{Service: "api", Port: 65534}},
			free:     busy("127.0.0.1:65534", "127.0.0.1:65535"),
			wantErrs: []string{`service "api" debug port 65534: no free port on 127.0.0.1 from 65534 to 65535`},
		},
		{
			name: "all errors are collected and the rest is assigned",
			reqs: []Request{
				{Service: "a", Port: 9229, Listen: "0.0.0.0:9229"},
				{Service: "b", Port: 9229, Listen: "127.0.0.1:9229"},
				{Service: "c", Port: 9229},
			},
			free:     busy("127.0.0.1:9229"),
			want:     []result{{"c", 9229, "127.0.0.1:9230"}},
			wantErrs: []string{`service "a"`, `service "b"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Allocate(tt.reqs, tt.free)
			var gotRes []result
			for _, a := range got {
				gotRes = append(gotRes, result{a.Service, a.Port, a.Addr})
			}
			if !reflect.DeepEqual(gotRes, tt.want) {
				t.Errorf("assignments\n got %v\nwant %v", gotRes, tt.want)
			}
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, expected one containing %q", tt.wantErrs)
			}
			for _, s := range tt.wantErrs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestAllocateStable(t *testing.T) {
	reqs := []Request{{Service: "web", Port: 9229}, {Service: "api", Port: 9229}, {Service: "api", Port: 2345}}
	first, err := Allocate(reqs, busy())
	if err != nil {
		t.Fatal(err)
	}
	reversed := []Request{reqs[2], reqs[1], reqs[0]}
	second, err := Allocate(reversed, busy())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("order of requests changed the result:\n%v\n%v", first, second)
	}
}

func TestPortFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if PortFree(addr) {
		t.Errorf("PortFree(%s) = true while a listener holds it", addr)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !PortFree(addr) {
		t.Errorf("PortFree(%s) = false after its listener closed", addr)
	}
}
