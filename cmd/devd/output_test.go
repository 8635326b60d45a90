package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

func TestTerminalHidesSupervisorDetail(t *testing.T) {
	const (
		detail  = "2026-12-05T06:41:17.034Z [INFO]  devd.supervisor: command started: service=worker pid=13"
		warning = "2026-12-05T06:41:17.034Z [WARN]  devd.supervisor: supervisor warning: ports busy"
	)
	cases := []struct {
		name       string
		opts       rootOptions
		showDetail bool
	}{
		{"default level", rootOptions{logLevel: "info"}, false},
		{"warn chosen", rootOptions{logLevel: "warn", logLevelSet: true}, false},
		{"info chosen", rootOptions{logLevel: "info", logLevelSet: true}, true},
		{"debug chosen", rootOptions{logLevel: "debug", logLevelSet: true}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			bus := event.NewBus(10)
			stop := startTerminal(bus, control.NewConsole(&buf, false), hclog.NewNullLogger(), &tc.opts)
			for _, line := range []string{detail, warning, "plain service line"} {
				bus.Publish(event.Event{Type: event.Output, Service: "worker", Stream: "stderr", Text: line})
			}
			stop()

			got := buf.String()
			if strings.Contains(got, "command started") != tc.showDetail {
				t.Errorf("supervisor info line shown = %v, want %v; output:\n%s", !tc.showDetail, tc.showDetail, got)
			}
			if !strings.Contains(got, "supervisor warning") {
				t.Errorf("supervisor warning hidden; output:\n%s", got)
			}
			if !strings.Contains(got, "plain service line") {
				t.Errorf("service output hidden; output:\n%s", got)
			}
		})
	}
}
