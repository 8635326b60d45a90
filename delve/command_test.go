package delve

import "testing"

func TestParseCommandsReadsFlagsAndTarget(t *testing.T) {
	got := ParseCommands([]string{"sh", "-c", `cd /app && dlv --listen ":2345" exec ./server --headless --accept-multiclient=true --continue=false -- --port 80`})
	want := Command{Subcommand: "exec", Target: "./server", Headless: true, Multiclient: true, Listen: ":2345"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("ParseCommands = %+v, want [%+v]", got, want)
	}
}

func TestMulticlientFromArgs(t *testing.T) {
	const multi = "--headless --listen=:2345 --api-version=2 --accept-multiclient --continue"
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"exec multiclient", []string{"dlv", "exec", "/app/server", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--continue"}, true},
		{"flags before verb", []string{"/go/bin/dlv", "--headless", "--accept-multiclient", "-l", ":2345", "exec", "/app/server"}, true},
		{"shell script", []string{"/bin/sh", "-c", "go build -o /app/server . && exec dlv exec /app/server " + multi}, true},
		{"single client", []string{"dlv", "exec", "--headless", "--listen=:2345", "--api-version=2", "./app"}, false},
		{"multiclient turned off", []string{"dlv", "exec", "./app", "--headless", "--accept-multiclient", "--accept-multiclient=false"}, false},
		{"not headless", []string{"dlv", "exec", "./app", "--accept-multiclient"}, false},
		{"dap serves one client", []string{"dlv", "dap", "--listen=:2345", "--headless", "--accept-multiclient"}, false},
		{"flag belongs to the program", []string{"dlv", "exec", "./app", "--headless", "--", "--accept-multiclient"}, false},
		{"verb-like flag value", []string{"dlv", "--wd", "exec", "debug", "--headless", "--accept-multiclient"}, true},
		{"no dlv", []string{"node", "--inspect=0.0.0.0:9229", "app.js"}, false},
		{"dlvx is not dlv", []string{"dlvx", "exec", "./app", "--headless", "--accept-multiclient"}, false},
		{"one of two is single client", []string{"sh", "-c", "dlv exec ./a " + multi + "; dlv exec ./b --headless --listen=:2346"}, false},
		{"quoted flags", []string{"sh", "-c", `dlv exec ./app "--headless" '--accept-multiclient'`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MulticlientFromArgs(tt.args); got != tt.want {
				t.Errorf("MulticlientFromArgs(%q) = %v, want %v", tt.args, got, tt.want)
			}
		})
	}
}

func TestCanSwap(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"exec multiclient", []string{"dlv", "exec", "/app/server", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--continue"}, true},
		{"exec single client never connected", []string{"dlv", "exec", "--headless", "--listen=:2345", "--api-version=2", "./app"}, false},
		{"debug rebuilds its own binary", []string{"dlv", "debug", "./cmd/server", "--headless", "--accept-multiclient"}, false},
		{"attach cannot restart", []string{"dlv", "attach", "1", "--headless", "--accept-multiclient"}, false},
		{"exec without binary", []string{"dlv", "exec", "--headless", "--accept-multiclient"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanSwap(tt.args); got != tt.want {
				t.Errorf("CanSwap(%q) = %v, want %v", tt.args, got, tt.want)
			}
		})
	}
}
