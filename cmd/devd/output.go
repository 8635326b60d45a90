package main

import (
	"io"
	"sync"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// terminalBuffer is how many events may wait to be shown before events are
// dropped rather than slowing devd down.
const terminalBuffer = 4096

// startTerminal shows devd's events until the returned function is called.
// In JSON mode only the services' output is added to the log, one JSON
// entry per line; otherwise every event is a line in plain words, and
// output lines come as "service | line". --no-output leaves output out.
func startTerminal(bus *event.Bus, w io.Writer, log hclog.Logger, opts *rootOptions) (stop func()) {
	sub := bus.Subscribe(terminalBuffer)
	out := log.Named("output")
	console := control.NewConsole(w, useColor(w))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range sub.C() {
			if e.Type == event.Output && opts.noOutput {
				continue
			}
			if !opts.logJSON {
				console.Render(e)
				continue
			}
			if e.Type == event.Output {
				out.Info("service output", "service", e.Service, "stream", e.Stream, "line", e.Text)
			}
		}
		console.Flush()
	}()
	return func() {
		sub.Close()
		wg.Wait()
	}
}
