package debug

import (
	"reflect"
	"testing"
)

func TestDetect(t *testing.T) {
	node := func(host string, port int, flag string) Detected {
		return Detected{Port: port, Runtime: RuntimeNode, Host: host, LoopbackOnly: IsLoopback(host), Flag: flag}
	}
	delve := func(host string, port int, flag string) Detected {
		return Detected{Port: port, Runtime: RuntimeGo, Host: host, LoopbackOnly: host != "" && IsLoopback(host), Flag: flag}
	}

	tests := []struct {
		name string
		args []string
		want []Detected
	}{
		{"no debugger", []string{"node", "server.js"}, nil},
		{"empty", nil, nil},
		{"inspect alone", []string{"node", "--inspect", "server.js"},
			[]Detected{node("127.0.0.1", 9229, "--inspect")}},
		{"inspect-brk alone", []string{"node", "--inspect-brk", "server.js"},
			[]Detected{node("127.0.0.1", 9229, "--inspect-brk")}},
		{"inspect-wait alone", []string{"node", "--inspect-wait", "server.js"},
			[]Detected{node("127.0.0.1", 9229, "--inspect-wait")}},
		{"port only", []string{"node", "--inspect=9223", "server.js"},
			[]Detected{node("127.0.0.1", 9223, "--inspect=9223")}},
		{"all interfaces", []string{"node", "--inspect=0.0.0.0:9229", "server.js"},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0:9229")}},
		{"host and port", []string{"node", "--inspect-brk=10.0.0.5:9230"},
			[]Detected{node("10.0.0.5", 9230, "--inspect-brk=10.0.0.5:9230")}},
		{"loopback host and port", []string{"node", "--inspect=127.0.0.1:9229"},
			[]Detected{node("127.0.0.1", 9229, "--inspect=127.0.0.1:9229")}},
		{"ipv6 wildcard", []string{"node", "--inspect=[::]:9229", "app.js"},
			[]Detected{node("::", 9229, "--inspect=[::]:9229")}},
		{"ipv6 host without port", []string{"node", "--inspect=[::]"},
			[]Detected{node("::", 9229, "--inspect=[::]")}},
		{"host name without port", []string{"node", "--inspect=0.0.0.0"},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0")}},
		{"inspect-port alone", []string{"node", "--inspect-port=0.0.0.0:9231", "app.js"},
			[]Detected{node("0.0.0.0", 9231, "--inspect-port=0.0.0.0:9231")}},
		{"inspect-port as next word", []string{"node", "--inspect-port", "9231", "app.js"},
			[]Detected{node("127.0.0.1", 9231, "--inspect-port 9231")}},
		{"inspect with inspect-port", []string{"node", "--inspect=0.0.0.0", "--inspect-port=9230", "app.js"},
			[]Detected{node("0.0.0.0", 9230, "--inspect=0.0.0.0 --inspect-port=9230")}},
		{"random port is skipped", []string{"node", "--inspect=0.0.0.0:0"}, nil},
		{"unreadable port is skipped", []string{"node", "--inspect=0.0.0.0:${PORT}"}, nil},
		{"out of range port is skipped", []string{"node", "--inspect=70000"}, nil},
		{"similar flag is not inspect", []string{"node", "--inspector=9229", "--inspect-publish-uid=http"}, nil},
		{"wrapper passes the flag", []string{"npx", "nodemon", "--inspect=0.0.0.0:9223", "index.js"},
			[]Detected{node("0.0.0.0", 9223, "--inspect=0.0.0.0:9223")}},
		{"shell string", []string{"sh", "-c", "node --inspect=0.0.0.0:9229 server.js"},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0:9229")}},
		{"quoted value in shell string", []string{"sh", "-c", `node --inspect="0.0.0.0:9229" server.js`},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0:9229")}},
		{"shell commands are separate", []string{"sh", "-c", "npm ci && node --inspect=0.0.0.0:9229 a.js; node --inspect=0.0.0.0:9230 b.js"},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0:9229"), node("0.0.0.0", 9230, "--inspect=0.0.0.0:9230")}},
		{"NODE_OPTIONS in a shell string", []string{"sh", "-c", "NODE_OPTIONS=--inspect=0.0.0.0:9229 npm start"},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0:9229")}},
		{"entrypoint and command", []string{"docker-entrypoint.sh", "node", "--inspect=0.0.0.0:9223", "src/index.js"},
			[]Detected{node("0.0.0.0", 9223, "--inspect=0.0.0.0:9223")}},
		{"dedupe by port", []string{"sh", "-c", "node --inspect=0.0.0.0:9229 a.js; node --inspect=[::]:9229 b.js"},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0:9229")}},

		{"dlv listen equals", []string{"dlv", "exec", "/app/server", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient"},
			[]Detected{delve("", 2345, "--listen=:2345")}},
		{"dlv listen next word", []string{"dlv", "debug", "--headless", "--listen", ":2345"},
			[]Detected{delve("", 2345, "--listen :2345")}},
		{"dlv short flag", []string{"/go/bin/dlv", "exec", "./server", "--headless", "-l", "0.0.0.0:40000"},
			[]Detected{delve("0.0.0.0", 40000, "-l 0.0.0.0:40000")}},
		{"dlv short flag equals", []string{"dlv", "exec", "./server", "-l=:2345"},
			[]Detected{delve("", 2345, "-l=:2345")}},
		{"dlv loopback", []string{"dlv", "exec", "./server", "--headless", "--listen=127.0.0.1:2345"},
			[]Detected{delve("127.0.0.1", 2345, "--listen=127.0.0.1:2345")}},
		{"dlv in shell string", []string{"/bin/sh", "-c", "go build -o /app/server . && dlv exec /app/server --headless --listen=:2345 --continue"},
			[]Detected{delve("", 2345, "--listen=:2345")}},
		{"listen without dlv", []string{"/app/server", "--listen=:8080", "-l", ":9000"}, nil},
		{"listen before dlv", []string{"--listen=:8080", "dlv", "exec", "x"}, nil},
		{"program arguments after double dash", []string{"dlv", "exec", "/app/server", "--listen=:2345", "--", "--listen=:8080"},
			[]Detected{delve("", 2345, "--listen=:2345")}},
		{"dlv random port is skipped", []string{"dlv", "exec", "x", "--listen=127.0.0.1:0"}, nil},
		{"dlv listen without port is skipped", []string{"dlv", "exec", "x", "--listen=localhost"}, nil},
		{"dlv name suffix is not dlv", []string{"notdlv", "--listen=:2345"}, nil},
		{"dlv in one command only", []string{"sh", "-c", "dlv version; server --listen=:8080"}, nil},
		{"node and delve", []string{"sh", "-c", "node --inspect=0.0.0.0:9229 a.js & dlv exec b --listen=:2345"},
			[]Detected{node("0.0.0.0", 9229, "--inspect=0.0.0.0:9229"), delve("", 2345, "--listen=:2345")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Detect(tt.args)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Detect(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:9229", true},
		{"127.1.2.3:9229", true},
		{"127.0.0.1", true},
		{"[::1]:9229", true},
		{"::1", true},
		{"[::ffff:127.0.0.1]:9229", true},
		{"localhost:9229", true},
		{"LOCALHOST", true},
		{"0.0.0.0:9229", false},
		{":9229", false},
		{"", false},
		{"[::]:9229", false},
		{"192.168.1.10:9229", false},
		{"128.0.0.1:9229", false},
		{"example.com:9229", false},
		{"localhost.example.com:9229", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.addr); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
