package main

import (
	"io"
	"sync"

	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// outputBuffer is how many output lines may wait to be printed before
// lines are dropped rather than slowing devd down.
const outputBuffer = 4096

// printOutput shows the services' output until the returned function is
// called: as "service | line" on w, or through the logger in JSON mode so
// that every line of devd's output stays one JSON object.
func printOutput(bus *event.Bus, w io.Writer, log hclog.Logger, jsonFormat bool) (stop func()) {
	sub := bus.Subscribe(outputBuffer)
	out := log.Named("output")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range sub.C() {
			if e.Type != event.Output {
				continue
			}
			if jsonFormat {
				out.Info("service output", "service", e.Service, "stream", e.Stream, "line", e.Text)
				continue
			}
			// One Write per line keeps lines whole next to the log's own.
			_, _ = io.WriteString(w, e.Service+" | "+e.Text+"\n")
		}
	}()
	return func() {
		sub.Close()
		wg.Wait()
	}
}
