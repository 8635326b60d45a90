package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	if !slices.Equal(o.tools, knownTools) {
		t.Errorf("tools = %q, want every tool: %q", o.tools, knownTools)
	}
	if o.settle.Seconds() <= 1 {
		t.Errorf("settle = %s, want more than the loop guard's 1 s window", o.settle)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-tools", "devd,tilt"}, `unknown tool "tilt"`},
		{[]string{"-tools", "nodemon", "-services", "notification"}, "nodemon is measured on api only"},
		{[]string{"-services", "billing"}, `no service "billing"`},
		{[]string{"-saves", "5"}, "too few"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFlags(%q) = %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}
