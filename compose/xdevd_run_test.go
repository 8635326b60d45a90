package compose

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// extensionCase is one row of a table test of parseExtension.
type extensionCase struct {
	name    string
	raw     any
	want    extension
	wantKey string // key of the expected error; empty for success
	wantMsg string // part of the expected error message
}

func runExtensionCases(t *testing.T, tests []extensionCase) {
	t.Helper()
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

func TestParseExtensionRestartProcess(t *testing.T) {
	runExtensionCases(t, []extensionCase{
		{
			name: "process",
			raw:  map[string]any{"restart": "process"},
			want: extension{present: true, restart: &RestartMode{Kind: RestartProcess}},
		},
		{
			name:    "process with a signal is not a mode",
			raw:     map[string]any{"restart": "process:SIGHUP"},
			wantKey: "x-devd.restart",
			wantMsg: "use process, container, signal:SIGNAL or none",
		},
	})
}

func TestParseExtensionReady(t *testing.T) {
	runExtensionCases(t, []extensionCase{
		{name: "tcp port", raw: map[string]any{"ready": "tcp:3000"}, want: extension{present: true, ready: "tcp:3000"}},
		{name: "http URL", raw: map[string]any{"ready": "http://localhost:3000/health"}, want: extension{present: true, ready: "http://localhost:3000/health"}},
		{name: "http URL without a port", raw: map[string]any{"ready": "http://127.0.0.1/"}, want: extension{present: true, ready: "http://127.0.0.1/"}},
		{name: "log expression", raw: map[string]any{"ready": `log:listening on \d+`}, want: extension{present: true, ready: `log:listening on \d+`}},
		{name: "surrounding space is trimmed", raw: map[string]any{"ready": " tcp:80 "}, want: extension{present: true, ready: "tcp:80"}},
		{name: "tcp port out of range", raw: map[string]any{"ready": "tcp:70000"}, wantKey: "x-devd.ready", wantMsg: `invalid port in "tcp:70000"`},
		{name: "tcp without port", raw: map[string]any{"ready": "tcp:"}, wantKey: "x-devd.ready", wantMsg: "invalid port"},
		{name: "http without host", raw: map[string]any{"ready": "http:///health"}, wantKey: "x-devd.ready", wantMsg: "invalid URL"},
		{name: "http port out of range", raw: map[string]any{"ready": "http://localhost:99999/"}, wantKey: "x-devd.ready", wantMsg: "invalid port"},
		{name: "https is not offered", raw: map[string]any{"ready": "https://localhost/"}, wantKey: "x-devd.ready", wantMsg: "use tcp:PORT, http://HOST:PORT/PATH or log:REGEXP"},
		{name: "regexp that does not compile", raw: map[string]any{"ready": "log:listening (on"}, wantKey: "x-devd.ready", wantMsg: `invalid regular expression "listening (on"`},
		{name: "empty regexp", raw: map[string]any{"ready": "log:"}, wantKey: "x-devd.ready", wantMsg: "needs a regular expression"},
		{name: "a bare port", raw: map[string]any{"ready": 3000}, wantKey: "x-devd.ready", wantMsg: "must be a string"},
	})
}

func TestParseExtensionUser(t *testing.T) {
	runExtensionCases(t, []extensionCase{
		{name: "uid and gid", raw: map[string]any{"user": "1000:1000"}, want: extension{present: true, user: "1000:1000"}},
		{name: "root", raw: map[string]any{"user": "0:0"}, want: extension{present: true, user: "0:0"}},
		{name: "names are refused", raw: map[string]any{"user": "node:node"}, wantKey: "x-devd.user", wantMsg: `use numbers "UID:GID"`},
		{name: "uid alone", raw: map[string]any{"user": "1000"}, wantKey: "x-devd.user", wantMsg: `invalid value "1000"`},
		{name: "a number", raw: map[string]any{"user": 1000}, wantKey: "x-devd.user", wantMsg: "must be a string"},
		{name: "id out of range", raw: map[string]any{"user": "4294967295:0"}, wantKey: "x-devd.user", wantMsg: "out of range"},
	})
}

func TestParseExtensionPoll(t *testing.T) {
	runExtensionCases(t, []extensionCase{
		{name: "one second", raw: map[string]any{"poll": "1s"}, want: extension{present: true, poll: time.Second}},
		{name: "milliseconds", raw: map[string]any{"poll": "250ms"}, want: extension{present: true, poll: 250 * time.Millisecond}},
		{name: "number zero", raw: map[string]any{"poll": 0}, want: extension{present: true}},
		{name: "string zero", raw: map[string]any{"poll": "0"}, want: extension{present: true}},
		{name: "too short", raw: map[string]any{"poll": "10ms"}, wantKey: "x-devd.poll", wantMsg: "10ms is out of range"},
		{name: "negative", raw: map[string]any{"poll": "-1s"}, wantKey: "x-devd.poll", wantMsg: "out of range"},
		{name: "no unit", raw: map[string]any{"poll": 5}, wantKey: "x-devd.poll", wantMsg: "must be a duration string"},
		{name: "not a duration", raw: map[string]any{"poll": "often"}, wantKey: "x-devd.poll", wantMsg: `invalid duration "often"`},
	})
}

func TestParseExtensionFlags(t *testing.T) {
	yes, no := true, false
	runExtensionCases(t, []extensionCase{
		{name: "gitignore", raw: map[string]any{"gitignore": true}, want: extension{present: true, gitignore: true}},
		{name: "debug_wait", raw: map[string]any{"debug_wait": "true"}, want: extension{present: true, debugWait: true}},
		{name: "supervise false", raw: map[string]any{"supervise": false}, want: extension{present: true, supervise: &no}},
		{name: "supervise true", raw: map[string]any{"supervise": true}, want: extension{present: true, supervise: &yes}},
		{name: "gitignore of the wrong type", raw: map[string]any{"gitignore": "yes"}, wantKey: "x-devd.gitignore", wantMsg: "must be true or false"},
		{name: "supervise of the wrong type", raw: map[string]any{"supervise": 1}, wantKey: "x-devd.supervise", wantMsg: "must be true or false"},
		{
			name: "debug brk",
			raw:  map[string]any{"debug": []any{map[string]any{"port": 9229, "runtime": "node", "brk": true}}},
			want: extension{present: true, debug: []DebugPort{{Port: 9229, Runtime: "node", Brk: true}}},
		},
		{
			name:    "debug brk of the wrong type",
			raw:     map[string]any{"debug": []any{map[string]any{"port": 9229, "brk": "always"}}},
			wantKey: "x-devd.debug[0].brk",
			wantMsg: "must be true or false",
		},
	})
}
