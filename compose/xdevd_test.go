package compose

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseExtension(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		raw     any
		want    extension
		wantKey string // key of the expected error; empty for success
		wantMsg string // part of the expected error message
	}{
		{
			name: "empty section turns devd on",
			raw:  nil,
			want: extension{present: true},
		},
		{
			name: "watch false",
			raw:  map[string]any{"watch": false},
			want: extension{present: true, watch: &no},
		},
		{
			name: "watch from interpolation",
			raw:  map[string]any{"watch": "true"},
			want: extension{present: true, watch: &yes},
		},
		{
			name:    "watch of the wrong type",
			raw:     map[string]any{"watch": "yes"},
			wantKey: "x-devd.watch",
			wantMsg: `must be true or false, got string "yes"`,
		},
		{
			name: "restart container",
			raw:  map[string]any{"restart": "container"},
			want: extension{present: true, restart: &RestartMode{Kind: RestartContainer}},
		},
		{
			name: "restart none",
			raw:  map[string]any{"restart": "none"},
			want: extension{present: true, restart: &RestartMode{Kind: RestartNone}},
		},
		{
			name: "restart signal without prefix is normalised",
			raw:  map[string]any{"restart": "signal:HUP"},
			want: extension{present: true, restart: &RestartMode{Kind: RestartSignal, Signal: "SIGHUP"}},
		},
		{
			name: "restart signal with prefix",
			raw:  map[string]any{"restart": "signal:SIGUSR2"},
			want: extension{present: true, restart: &RestartMode{Kind: RestartSignal, Signal: "SIGUSR2"}},
		},
		{
			name:    "restart with an unknown mode",
			raw:     map[string]any{"restart": "sometimes"},
			wantKey: "x-devd.restart",
			wantMsg: `invalid value "sometimes": use process, container, signal:SIGNAL or none`,
		},
		{
			name:    "restart with an unsupported signal",
			raw:     map[string]any{"restart": "signal:SIGWINCH"},
			wantKey: "x-devd.restart",
			wantMsg: `invalid signal "SIGWINCH"`,
		},
		{
			name:    "restart with an empty signal",
			raw:     map[string]any{"restart": "signal:"},
			wantKey: "x-devd.restart",
			wantMsg: `invalid signal ""`,
		},
		{
			name:    "restart of the wrong type",
			raw:     map[string]any{"restart": 3},
			wantKey: "x-devd.restart",
			wantMsg: "must be a string",
		},
		{
			name: "debug entries",
			raw: map[string]any{"debug": []any{
				map[string]any{"port": 9229, "runtime": "node", "listen": "127.0.0.1:19229"},
				map[string]any{"port": "2345", "runtime": "go", "listen": "0.0.0.0:2345", "allow_remote": true},
				map[string]any{"port": float64(9230)},
			}},
			want: extension{present: true, debug: []DebugPort{
				{Port: 9229, Runtime: "node", Listen: "127.0.0.1:19229"},
				{Port: 2345, Runtime: "go", Listen: "0.0.0.0:2345", AllowRemote: true},
				{Port: 9230},
			}},
		},
		{
			name:    "debug port out of range",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 70000}}},
			wantKey: "x-devd.debug[0].port",
			wantMsg: "port 70000 is out of range",
		},
		{
			name:    "debug port zero",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 0}}},
			wantKey: "x-devd.debug[0].port",
			wantMsg: "out of range",
		},
		{
			name:    "debug port not a number",
			raw:     map[string]any{"debug": []any{map[string]any{"port": "inspector"}}},
			wantKey: "x-devd.debug[0].port",
			wantMsg: `got string "inspector"`,
		},
		{
			name:    "debug port missing",
			raw:     map[string]any{"debug": []any{map[string]any{"runtime": "node"}}},
			wantKey: "x-devd.debug[0].port",
			wantMsg: "is required",
		},
		{
			name: "debug port listed twice",
			raw: map[string]any{"debug": []any{
				map[string]any{"port": 9229}, map[string]any{"port": 9229},
			}},
			wantKey: "x-devd.debug[1].port",
			wantMsg: "already listed in x-devd.debug[0]",
		},
		{
			name:    "debug runtime unknown",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 9229, "runtime": "python"}}},
			wantKey: "x-devd.debug[0].runtime",
			wantMsg: "must be node or go",
		},
		{
			name:    "debug listen on all interfaces needs allow_remote",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 9229, "listen": "0.0.0.0:9229"}}},
			wantKey: "x-devd.debug[0].listen",
			wantMsg: "set allow_remote: true",
		},
		{
			name:    "debug listen without a port",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 9229, "listen": "127.0.0.1"}}},
			wantKey: "x-devd.debug[0].listen",
			wantMsg: `invalid address "127.0.0.1"`,
		},
		{
			name:    "debug listen on a host name",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 9229, "listen": "devbox:9229"}}},
			wantKey: "x-devd.debug[0].listen",
			wantMsg: "use an IP address or localhost",
		},
		{
			name:    "debug entry with an unknown key",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 9229, "host": "x"}}},
			wantKey: "x-devd.debug[0].host",
			wantMsg: "unknown key; the known keys are allow_remote, brk, listen, port, runtime",
		},
		{
			name:    "debug not a list",
			raw:     map[string]any{"debug": 9229},
			wantKey: "x-devd.debug",
			wantMsg: "must be a list",
		},
		{
			name:    "debug entry not a mapping",
			raw:     map[string]any{"debug": []any{9229}},
			wantKey: "x-devd.debug[0]",
			wantMsg: "must be a mapping",
		},
		{
			name:    "unknown key",
			raw:     map[string]any{"watch": true, "polling": true},
			wantKey: "x-devd.polling",
			wantMsg: "unknown key; the known keys are build, debug, debug_wait, gitignore, ignore, poll, ready, restart, supervise, user, watch",
		},
		{
			name:    "not a mapping",
			raw:     []any{"watch"},
			wantKey: "x-devd",
			wantMsg: "must be a mapping",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExtension(tt.raw, true)
			if tt.wantKey != "" {
				var fe *fieldError
				if !errors.As(err, &fe) {
					t.Fatalf("error = %v, want a field error for %s", err, tt.wantKey)
				}
				if fe.key != tt.wantKey || !strings.Contains(fe.message, tt.wantMsg) {
					t.Fatalf("error = %q: %q, want %q containing %q", fe.key, fe.message, tt.wantKey, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseExtensionAbsent(t *testing.T) {
	got, err := parseExtension(nil, false)
	if err != nil || got.present {
		t.Fatalf("got %+v, %v; want an absent extension", got, err)
	}
}

func TestNormalizeSignal(t *testing.T) {
	for in, want := range map[string]string{
		"SIGTERM": "SIGTERM", "term": "SIGTERM", "SIGINT": "SIGINT", "15": "SIGTERM", "9": "SIGKILL",
		"SIGWINCH": "SIGWINCH", "34": "34",
	} {
		if got := normalizeSignal(in); got != want {
			t.Errorf("normalizeSignal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseExtensionIgnore(t *testing.T) {
	ext, err := parseExtension(map[string]any{"ignore": []any{"tmp/", "*.log"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ext.ignore) != 2 || ext.ignore[0] != "tmp/" || ext.ignore[1] != "*.log" {
		t.Errorf("ignore = %v, want [tmp/ *.log]", ext.ignore)
	}
	for _, bad := range []any{"tmp/", []any{1}, []any{""}} {
		if _, err := parseExtension(map[string]any{"ignore": bad}, true); err == nil || !strings.Contains(err.Error(), "x-devd.ignore") {
			t.Errorf("ignore %v: error %v, want one naming x-devd.ignore", bad, err)
		}
	}
}
