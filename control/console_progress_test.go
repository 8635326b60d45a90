package control_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
)

// fakeTerminal keeps the screen that a terminal would show for what is
// written to it. A carriage return moves to the start of the line, ESC [ K
// erases to its end, and a newline starts a new line. Other text
// overwrites, and any other escape sequence is an error.
type fakeTerminal struct {
	t     *testing.T
	lines [][]rune
	col   int
	raw   bytes.Buffer
}

func newFakeTerminal(t *testing.T) *fakeTerminal {
	return &fakeTerminal{t: t, lines: [][]rune{nil}}
}

func (f *fakeTerminal) Write(p []byte) (int, error) {
	f.raw.Write(p)
	s := []rune(string(p))
	for i := 0; i < len(s); i++ {
		cur := &f.lines[len(f.lines)-1]
		switch r := s[i]; {
		case r == '\r':
			f.col = 0
		case r == '\n':
			f.lines = append(f.lines, nil)
			f.col = 0
		case r == '\x1b':
			if i+2 < len(s) && s[i+1] == '[' && s[i+2] == 'K' {
				*cur = (*cur)[:min(f.col, len(*cur))]
				i += 2
				continue
			}
			f.t.Fatalf("unexpected escape sequence in %q", string(s[i:]))
		default:
			for len(*cur) <= f.col {
				*cur = append(*cur, ' ')
			}
			(*cur)[f.col] = r
			f.col++
		}
	}
	return len(p), nil
}

// screen returns the lines on the screen, the last one included even when
// it is empty.
func (f *fakeTerminal) screen() []string {
	out := make([]string, len(f.lines))
	for i, l := range f.lines {
		out[i] = string(l)
	}
	return out
}

func (f *fakeTerminal) wantScreen(step string, want ...string) {
	f.t.Helper()
	got := f.screen()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		f.t.Errorf("%s: screen\n%q\nwant\n%q\n(written: %q)", step, got, want, f.raw.String())
	}
}

func progress(service string, ms int64, phase string, files, total int, bytes, totalBytes int64) event.Event {
	return event.Event{Type: event.SyncProgress, Service: service, Container: "shop-" + service + "-1", Phase: phase,
		Files: files, TotalFiles: total, Bytes: bytes, TotalBytes: totalBytes, DurationMS: ms}
}

func TestConsoleProgressBar(t *testing.T) {
	term := newFakeTerminal(t)
	c := control.NewConsole(term, false)
	c.SetProgressBar(func() int { return 120 })

	// Nothing in the first second.
	c.Render(progress("api", 300, "comparing", 0, 0, 0, 0))
	term.wantScreen("before a second", "")

	c.Render(progress("api", 1250, "comparing", 0, 0, 0, 0))
	term.wantScreen("comparing", "api: syncing (comparing with the host, 1.2 s)")

	c.Render(progress("api", 1500, "copying", 812, 2000, 3<<20, 6<<20))
	term.wantScreen("copying", "api: syncing [########............] 812/2000 files (3.0 MB of 6.0 MB)")

	// Other lines go above the progress line.
	c.Render(event.Event{Type: event.Output, Service: "api", Text: "listening"})
	if _, err := c.Writer().Write([]byte("12:00:00.000 [WARN]  devd: a log line\n")); err != nil {
		t.Fatal(err)
	}
	term.wantScreen("a line while syncing",
		"api | listening",
		"12:00:00.000 [WARN]  devd: a log line",
		"api: syncing [########............] 812/2000 files (3.0 MB of 6.0 MB)")

	c.Render(progress("api", 1750, "copying", 2000, 2000, 6<<20, 6<<20))
	term.wantScreen("full",
		"api | listening",
		"12:00:00.000 [WARN]  devd: a log line",
		"api: syncing [####################] 2000/2000 files (6.0 MB of 6.0 MB)")

	// The done line replaces the bar.
	c.Render(progress("api", 1800, "done", 2000, 2000, 6<<20, 6<<20))
	c.Render(event.Event{Type: event.SyncDone, Service: "api", Container: "shop-api-1", Files: 2000, Bytes: 6 << 20, DurationMS: 1800})
	term.wantScreen("done",
		"api | listening",
		"12:00:00.000 [WARN]  devd: a log line",
		"api: synced 2000 files (6.0 MB) in 1.8 s",
		"")
}

func TestConsoleProgressBarSeveralServices(t *testing.T) {
	term := newFakeTerminal(t)
	c := control.NewConsole(term, false)
	width := 200
	c.SetProgressBar(func() int { return width })

	c.Render(progress("api", 1000, "copying", 5, 10, 0, 0))
	c.Render(progress("notification", 2000, "copying", 1, 4, 0, 0))
	term.wantScreen("two", "api: syncing [##########..........] 5/10 files   notification: syncing [#####...............] 1/4 files")

	// The line is cut to the terminal's width, so that it never wraps.
	width = 40
	c.Render(progress("api", 1200, "copying", 6, 10, 0, 0))
	term.wantScreen("narrow", "api: syncing [############........] 6/1")

	// A failed sync takes its part off the line.
	width = 200
	c.Render(event.Event{Type: event.SyncFailed, Service: "api", Container: "shop-api-1", Error: "disk full"})
	term.wantScreen("failed",
		"api: sync into shop-api-1 failed, will retry: disk full",
		"notification: syncing [#####...............] 1/4 files")

	// Flush leaves no progress line behind.
	c.Flush()
	term.wantScreen("flushed", "api: sync into shop-api-1 failed, will retry: disk full", "")
}

func TestConsoleProgressBarDropsBytesFirst(t *testing.T) {
	term := newFakeTerminal(t)
	c := control.NewConsole(term, false)
	c.SetProgressBar(func() int { return 60 })
	c.Render(progress("notification", 1500, "copying", 812, 2000, 3<<20, 6<<20))
	term.wantScreen("60 columns", "notification: syncing [########............] 812/2000 files")
}

func TestConsoleProgressBarColor(t *testing.T) {
	var buf bytes.Buffer
	c := control.NewConsole(&buf, true)
	c.SetProgressBar(nil)
	c.Render(progress("api", 1000, "copying", 1, 2, 0, 0))
	if !strings.Contains(buf.String(), "api\x1b[0m: syncing [##########..........] 1/2 files") {
		t.Errorf("colour progress line is %q", buf.String())
	}

	buf.Reset()
	c = control.NewConsole(&buf, false)
	c.SetProgressBar(nil)
	c.Render(progress("api", 1000, "copying", 1, 2, 0, 0))
	if want := "\rapi: syncing [##########..........] 1/2 files\x1b[K"; buf.String() != want {
		t.Errorf("progress line without colour is %q, want %q", buf.String(), want)
	}
}

func TestConsoleProgressWithoutBar(t *testing.T) {
	var buf bytes.Buffer
	c := control.NewConsole(&buf, false)
	for ms := int64(1000); ms <= 12_000; ms += 250 {
		c.Render(progress("api", ms, "copying", int(ms/10), 1200, 0, 0))
	}
	c.Render(progress("api", 12_100, "done", 1200, 1200, 0, 0))
	c.Render(event.Event{Type: event.SyncDone, Service: "api", Files: 1200, Bytes: 4096, DurationMS: 12_100})

	want := strings.Join([]string{
		"api: still syncing into shop-api-1: 500/1200 files after 5.0 s",
		"api: still syncing into shop-api-1: 1000/1200 files after 10.0 s",
		"api: synced 1200 files (4.0 KB) in 12.1 s",
	}, "\n") + "\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	if strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Errorf("plain output has terminal control: %q", buf.String())
	}
}
