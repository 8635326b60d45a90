package control

import (
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/devdtool/devd/event"
)

// ANSI escape sequences of the console's colours.
const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiBold  = "\x1b[1m"
)

// sourceColors colour service names; red and green are kept for failures
// and successes.
var sourceColors = []string{"\x1b[36m", "\x1b[33m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[93m", "\x1b[95m", "\x1b[94m"}

// timestampLayout is the time of day printed before each line when
// timestamps are on.
const timestampLayout = "15:04:05.000"

// Progress of a long reconciliation. The bar appears once it has run for
// barAfter. Without a bar, a "still syncing" line is written every
// stillEvery.
const (
	barAfter   = time.Second
	stillEvery = 5 * time.Second
	barCells   = 20
)

// Terminal control: back to the start of the line, and erase to its end.
const (
	lineStart = "\r"
	eraseLine = "\x1b[K"
)

// Console writes devd's events as plain lines for a terminal, one line per
// event. An error that repeats the previous error line is counted instead
// of printed: the count appears as "(repeated N times)" when another event
// comes or Flush is called. Output lines between the repeats do not break
// the count. A Console is safe for concurrent use.
//
// The progress of a reconciliation (sync_progress) is a "still syncing"
// line every few seconds. After SetProgressBar it is instead one line at
// the bottom, redrawn in place and erased when the reconciliation ends.
type Console struct {
	mu         sync.Mutex
	w          io.Writer // guarded by mu
	color      bool
	timestamps bool // guarded by mu

	repeated *line     // guarded by mu; the last error line, nil after another event
	repeats  int       // guarded by mu; how many times repeated came again
	lastSeen time.Time // guarded by mu; time of the last repeat

	bar     bool             // guarded by mu; draw progress in place
	width   func() int       // guarded by mu; the terminal's columns
	active  []event.Event    // guarded by mu; the progress shown, oldest reconciliation first
	drawn   bool             // guarded by mu; the progress line is on the screen
	stillAt map[string]int64 // guarded by mu; when the last "still syncing" line was written, by reconciliation
}

// NewConsole returns a console that writes to w, with ANSI colours when
// color is true. The caller decides colour, usually from whether w is a
// terminal and NO_COLOR is unset.
func NewConsole(w io.Writer, color bool) *Console {
	return &Console{w: w, color: color}
}

// SetTimestamps starts each line with the event's time of day, in the
// event time's location.
func (c *Console) SetTimestamps(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timestamps = on
}

// SetProgressBar makes the console draw the progress of reconciliations
// that run for more than a second as one line that is redrawn in place,
// for a terminal that understands carriage returns and ANSI erase-line.
// width returns the terminal's columns; the line is cut to fit them. A nil
// width stands for 80 columns.
func (c *Console) SetProgressBar(width func() int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if width == nil {
		width = func() int { return 80 }
	}
	c.bar, c.width = true, width
}

// Writer returns a writer for other lines to the same terminal, such as
// log lines: the progress line is erased before they are written and drawn
// again after each complete line.
func (c *Console) Writer() io.Writer { return consoleWriter{c} }

type consoleWriter struct{ c *Console }

func (w consoleWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.eraseLocked()
	n, err := c.w.Write(p)
	if len(p) > 0 && p[len(p)-1] == '\n' {
		c.drawLocked()
	}
	return n, err
}

// Render writes the line of one event. Write errors are dropped: a console
// has no one to report them to.
func (c *Console) Render(e event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if e.Type == event.SyncProgress {
		c.progressLocked(e)
		return
	}
	if e.Type == event.SyncDone || e.Type == event.SyncFailed {
		c.endProgressLocked(progressKey(e))
	}

	l := describe(e)
	if e.Error != "" && c.repeated != nil && *c.repeated == l {
		c.repeats++
		c.lastSeen = e.Time
		return
	}
	if e.Type != event.Output {
		c.flushLocked()
	}

	c.write(e.Time, l, "")
	switch {
	case e.Error != "":
		c.repeated = &l
	case e.Type != event.Output:
		c.repeated = nil
	}
}

// Flush writes the count of a repeated error that no later event has
// written yet, and erases the progress line. Call it when the stream of
// events ends.
func (c *Console) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.active = nil
	c.eraseLocked()
}

// progressKey names one reconciliation: a service's container.
func progressKey(e event.Event) string {
	return e.Service + "\x00" + e.Container
}

// progressLocked shows a sync_progress event: in the progress line when
// there is one, else as a "still syncing" line every stillEvery.
func (c *Console) progressLocked(e event.Event) {
	key := progressKey(e)
	elapsed := time.Duration(e.DurationMS) * time.Millisecond
	if e.Phase == "done" {
		c.endProgressLocked(key)
		return
	}
	if !c.bar {
		if elapsed >= stillEvery && e.DurationMS-c.stillAt[key] >= stillEvery.Milliseconds() {
			if c.stillAt == nil {
				c.stillAt = make(map[string]int64)
			}
			c.stillAt[key] = e.DurationMS
			c.write(e.Time, describe(e), "")
		}
		return
	}
	if elapsed < barAfter {
		return
	}
	for i := range c.active {
		if progressKey(c.active[i]) == key {
			c.active[i] = e
			c.drawLocked()
			return
		}
	}
	c.active = append(c.active, e)
	c.drawLocked()
}

// endProgressLocked removes a reconciliation from the progress line.
func (c *Console) endProgressLocked(key string) {
	delete(c.stillAt, key)
	for i := range c.active {
		if progressKey(c.active[i]) == key {
			c.active = append(c.active[:i], c.active[i+1:]...)
			c.eraseLocked()
			c.drawLocked()
			return
		}
	}
}

// eraseLocked takes the progress line off the screen.
func (c *Console) eraseLocked() {
	if c.drawn {
		fmt.Fprint(c.w, lineStart, eraseLine)
		c.drawn = false
	}
}

// drawLocked draws the progress line in place of the one on the screen:
// "api: syncing [#####...............] 812/2000 files (1.2 MB of 3.4 MB)",
// with the parts of several reconciliations side by side.
func (c *Console) drawLocked() {
	if !c.bar || len(c.active) == 0 {
		c.eraseLocked()
		return
	}
	// The line must not wrap, or the next redraw would leave its first
	// part on the screen. The byte counts go first, then the line is cut.
	limit := c.width() - 1
	var plain, colored []string
	for _, withBytes := range []bool{true, false} {
		plain, colored = plain[:0], colored[:0]
		for _, e := range c.active {
			source := e.Service
			if source == "" {
				source = "devd"
			}
			text := "syncing " + progressBar(e, withBytes)
			plain = append(plain, source+": "+text)
			colored = append(colored, sourceColor(source)+source+ansiReset+": "+text)
		}
		if utf8.RuneCountInString(strings.Join(plain, "   ")) <= limit {
			break
		}
	}
	out := strings.Join(plain, "   ")
	if utf8.RuneCountInString(out) > limit {
		out = truncateRunes(out, limit)
	} else if c.color {
		out = strings.Join(colored, "   ")
	}
	fmt.Fprint(c.w, lineStart, out, eraseLine)
	c.drawn = true
}

// progressBar is the bar and counts of one reconciliation, or what it does
// while the totals are unknown.
func progressBar(e event.Event, withBytes bool) string {
	if e.TotalFiles == 0 {
		return "(comparing with the host, " + formatMS(e.DurationMS) + ")"
	}
	filled := min(barCells*e.Files/e.TotalFiles, barCells)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat(".", barCells-filled) + "] "
	if !withBytes {
		return bar + fmt.Sprintf("%d/%s", e.Files, plural(e.TotalFiles, "file"))
	}
	return bar + progressCount(e)
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

func (c *Console) flushLocked() {
	if c.repeated != nil && c.repeats > 0 {
		suffix := fmt.Sprintf(" (repeated %d times)", c.repeats)
		if c.repeats == 1 {
			suffix = " (repeated once)"
		}
		c.write(c.lastSeen, *c.repeated, suffix)
	}
	c.repeated = nil
	c.repeats = 0
}

func (c *Console) write(t time.Time, l line, suffix string) {
	c.eraseLocked()
	defer c.drawLocked()
	stamp := ""
	if c.timestamps {
		stamp = t.Format(timestampLayout) + " "
	}
	if !c.color {
		fmt.Fprint(c.w, stamp, l.String(), suffix, "\n")
		return
	}

	if stamp != "" {
		stamp = ansiDim + stamp + ansiReset
	}
	source := sourceColor(l.source) + l.source + ansiReset
	text := l.text
	switch l.tone {
	case toneGood:
		text = ansiGreen + text + ansiReset
	case toneBad:
		text = ansiRed + text + ansiReset
	}
	fmt.Fprint(c.w, stamp, source, l.sep, text, suffix, "\n")
}

// sourceColor gives each service a stable colour, and devd itself bold.
func sourceColor(source string) string {
	if source == "devd" {
		return ansiBold
	}
	h := fnv.New32a()
	h.Write([]byte(source))
	return sourceColors[h.Sum32()%uint32(len(sourceColors))]
}
