package control

import (
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"time"

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

// Console writes devd's events as plain lines for a terminal, one line per
// event. An error that repeats the previous error line is counted instead
// of printed: the count appears as "(repeated N times)" when another event
// comes or Flush is called. Output lines between the repeats do not break
// the count. A Console is safe for concurrent use.
type Console struct {
	mu         sync.Mutex
	w          io.Writer // guarded by mu
	color      bool
	timestamps bool // guarded by mu

	repeated *line     // guarded by mu; the last error line, nil after another event
	repeats  int       // guarded by mu; how many times repeated came again
	lastSeen time.Time // guarded by mu; time of the last repeat
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

// Render writes the line of one event. Write errors are dropped: a console
// has no one to report them to.
func (c *Console) Render(e event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()

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
// written yet. Call it when the stream of events ends.
func (c *Console) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
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
