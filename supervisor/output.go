package supervisor

import (
	"bytes"
	"io"
	"regexp"
	"sync"
)

// maxLineLength bounds the part of an output line kept for matching; longer
// lines are matched on their first maxLineLength bytes.
const maxLineLength = 64 << 10

// lineMatcher watches the output of one started command for the first line
// that matches a pattern. Each stream gets its own writer from writer; the
// writers may be used from different goroutines.
type lineMatcher struct {
	pattern *regexp.Regexp

	// matched is closed on the first matching line.
	matched chan struct{}
	once    sync.Once
}

func newLineMatcher(pattern *regexp.Regexp) *lineMatcher {
	return &lineMatcher{pattern: pattern, matched: make(chan struct{})}
}

// writer returns a writer that passes everything through to dst and checks
// each complete line against the pattern. A write error from dst is
// returned, but the line checks see the whole stream.
func (m *lineMatcher) writer(dst io.Writer) io.Writer {
	return &lineWriter{m: m, dst: dst}
}

// lineWriter is one stream of a lineMatcher. It is used by one goroutine.
type lineWriter struct {
	m    *lineMatcher
	dst  io.Writer
	line []byte // the current incomplete line, at most maxLineLength bytes
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n, err := w.dst.Write(p)
	w.scan(p)
	return n, err
}

func (w *lineWriter) scan(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLineLength - len(w.line); room > 0 {
			w.line = append(w.line, chunk[:min(room, len(chunk))]...)
		}
		if i < 0 {
			return
		}
		w.check(bytes.TrimSuffix(w.line, []byte{'\r'}))
		w.line = w.line[:0]
		p = p[i+1:]
	}
}

func (w *lineWriter) check(line []byte) {
	select {
	case <-w.m.matched:
		return // already matched: spare the regexp
	default:
	}
	if w.m.pattern.Match(line) {
		w.m.once.Do(func() { close(w.m.matched) })
	}
}
