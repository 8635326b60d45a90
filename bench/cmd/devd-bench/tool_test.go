package main

import "testing"

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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ready(tt.line); got != tt.want {
				t.Errorf("ready(%q) = %t, want %t", tt.line, got, tt.want)
			}
		})
	}
}
