package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"sync"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"
)

// terminalBuffer is how many events may wait to be shown before events are
// dropped rather than slowing devd down.
const terminalBuffer = 4096

// newTerminal returns the console that shows devd's events on w, and the
// writer for everything else devd writes there. On a terminal that is not
// dumb, and without --log-json, the console draws the progress of long
// syncs as a line redrawn in place, and the writer keeps that line below
// what it writes. Elsewhere the writer is w and progress comes as plain
// lines.
func newTerminal(w io.Writer, opts *rootOptions) (*control.Console, io.Writer) {
	console := control.NewConsole(w, useColor(w))
	f, ok := w.(*os.File)
	if !ok || opts.logJSON || os.Getenv("TERM") == "dumb" || !isatty.IsTerminal(f.Fd()) {
		return console, w
	}
	console.SetProgressBar(func() int { return terminalWidth(f) })
	return console, console.Writer()
}

// terminalWidth returns the columns of the terminal f, or 80 when it does
// not tell.
func terminalWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 80
	}
	return int(ws.Col)
}

// startTerminal shows devd's events on the console until the returned
// function is called. In JSON mode only the services' output is added to
// the log, one JSON entry per line; otherwise every event is a line in
// plain words, and output lines come as "service | line". --no-output
// leaves output out.
func startTerminal(bus *event.Bus, console *control.Console, log hclog.Logger, opts *rootOptions) (stop func()) {
	sub := bus.Subscribe(terminalBuffer)
	out := log.Named("output")
	hideSupervisor := !levelShows(opts.effectiveLogLevel(), "info")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range sub.C() {
			if e.Type == event.Output && (opts.noOutput || hideSupervisor && supervisorDetail(e.Text)) {
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

// supervisorLine matches an info, debug or trace line that devd's
// supervisor writes to its container's output in hclog's text format.
var supervisorLine = regexp.MustCompile(`\[(TRACE|DEBUG|INFO)\]\s+devd\.supervisor[.:]`)

// supervisorDetail reports whether a line of a container's output is the
// supervisor's own detail rather than the service's output. It is shown
// only at a log level that shows devd's info lines.
func supervisorDetail(line string) bool {
	return supervisorLine.MatchString(line)
}

// levelShows reports whether a log at level shows entries of level want.
func levelShows(level, want string) bool {
	return slices.Index(logLevels, level) <= slices.Index(logLevels, want)
}
