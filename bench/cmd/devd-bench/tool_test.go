package main

import (
	"slices"
	"testing"
)

func TestReadyLines(t *testing.T) {
	tests := []struct {
		name  string
		ready func(string) bool
		line  string
		want  bool
	}{
		{"devd watching", devdReady, `{"@level":"info","@message":"watching","@module":"devd.watch","root_count":4}`, true},
		{"devd other message", devdReady, `{"@level":"info","@message":"devd started","@module":"devd"}`, false},
		{"devd message in a value", devdReady, `{"@message":"restarting","reason":"watching"}`, false},
		{"devd plain text", devdReady, `watching`, false},
		{"compose watch enabled", composeWatchReady, `Watch enabled`, true},
		{"compose other line", composeWatchReady, `Syncing service "notification" after 2 changes were detected`, false},
		{"nodemon watching files", nodemonReady, "devdbench1-api  | \x1b[33m[nodemon] watching 5 files\x1b[39m", true},
		{"nodemon watching one file", nodemonReady, "[nodemon] watching 1 file", true},
		{"nodemon watching paths", nodemonReady, "[nodemon] watching path(s): *.*", false},
		{"nodemon watching extensions", nodemonReady, "[nodemon] watching extensions: js,mjs,cjs,json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ready(tt.line); got != tt.want {
				t.Errorf("ready(%q) = %t, want %t", tt.line, got, tt.want)
			}
		})
	}
}

func TestNewToolNames(t *testing.T) {
	for _, name := range knownTools {
		if tl := newTool(name, "/bin/devd", nil, &stack{}); tl.Name != name {
			t.Errorf("newTool(%q) is called %q", name, tl.Name)
		}
	}
	if serves(toolNodemon, "notification") {
		t.Error("nodemon serves notification, want api only: its source is not bind-mounted")
	}
}

func TestDevdToolsLogTimings(t *testing.T) {
	for _, tl := range []tool{devdUpTool("/bin/devd"), devdTool("/bin/devd")} {
		if !slices.Contains(tl.Args, "--log-json") || !slices.Contains(tl.Args, "debug") {
			t.Errorf("%s runs %q, want JSON logs at debug level for the batch entries", tl.Name, tl.Args)
		}
		if tl.Keep == nil {
			t.Errorf("%s keeps no log lines", tl.Name)
		}
	}
	if up := devdUpTool("/bin/devd"); up.Args[len(up.Args)-1] != "up" || up.Setup != setupByTool {
		t.Errorf("devd-up runs %q with setup %d, want `devd ... up` starting the stack itself", up.Args, up.Setup)
	}
}

func TestDevdArgs(t *testing.T) {
	up := newTool(toolDevdUp, "/bin/devd", []string{"--quiet=10ms"}, &stack{})
	if want := []string{"/bin/devd", "--log-json", "--log-level", "debug", "--quiet=10ms", "up"}; !slices.Equal(up.Args, want) {
		t.Errorf("devd up args = %q, want %q", up.Args, want)
	}
	plain := newTool(toolDevd, "/bin/devd", []string{"--quiet=10ms"}, &stack{})
	if want := []string{"/bin/devd", "--log-json", "--log-level", "debug", "--quiet=10ms"}; !slices.Equal(plain.Args, want) {
		t.Errorf("devd args = %q, want %q", plain.Args, want)
	}
}
