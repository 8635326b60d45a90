package debug

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
)

// maxWatchedPrefix is how much of a WebSocket text message frameWatcher
// keeps to find its method. CDP events start with their method.
const maxWatchedPrefix = 1024

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// maxControlPayload is the longest payload a control frame may carry.
const maxControlPayload = 125

// frameWatcher reads a copy of a WebSocket stream, as an io.Writer that
// receives every byte in order, and calls onMethod with the top-level
// "method" of each text message that has one. It never changes or holds
// back the stream; it only watches.
//
// It gives up for good, without an error, at the first thing it does not
// understand (an unknown opcode, a fragmented control frame, a length with
// the top bit set), since it can then no longer tell where frames begin. A
// compressed message, an unfinished message interrupted by a new one and a
// continuation without a start are skipped. Masked frames are read too, so
// either direction can be watched.
//
// A frameWatcher is not safe for concurrent use.
type frameWatcher struct {
	onMethod func(method string)
	broken   bool // gave up

	header  []byte // the current frame's header, while incomplete
	inFrame bool   // header complete, payload under way
	opcode  byte
	fin     bool
	masked  bool
	mask    [4]byte
	left    uint64 // payload bytes still to come
	offset  uint64 // payload bytes seen, for the mask

	// The data message under way, which may span frames.
	inMessage bool
	text      bool // a text message that is not compressed
	prefix    []byte
}

// Write takes the next bytes of the stream. It always consumes all of p.
func (w *frameWatcher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !w.broken {
		if !w.inFrame {
			p = w.readHeader(p)
			continue
		}
		k := uint64(len(p))
		if k > w.left {
			k = w.left
		}
		w.payload(p[:k])
		p = p[k:]
		w.left -= k
		if w.left == 0 {
			w.endFrame()
		}
	}

	return n, nil
}

// readHeader takes header bytes from p and returns the rest. Once the
// header is complete it starts the frame.
func (w *frameWatcher) readHeader(p []byte) []byte {
	for len(p) > 0 {
		w.header = append(w.header, p[0])
		p = p[1:]
		need, ok := headerLen(w.header)
		if !ok || len(w.header) < need {
			continue
		}
		w.startFrame()
		w.header = w.header[:0]
		if w.inFrame && w.left == 0 {
			w.endFrame()
		}
		return p
	}

	return p
}

// headerLen returns the length of a frame header from its first bytes,
// or false while fewer than two are known.
func headerLen(h []byte) (int, bool) {
	if len(h) < 2 {
		return 0, false
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 {
		n += 4
	}

	return n, true
}

// startFrame reads the complete header in w.header.
func (w *frameWatcher) startFrame() {
	h := w.header
	w.fin = h[0]&0x80 != 0
	compressed := h[0]&0x40 != 0
	w.opcode = h[0] & 0x0f
	w.masked = h[1]&0x80 != 0
	rest := h[2:]
	switch l := h[1] & 0x7f; l {
	case 126:
		w.left = uint64(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
	case 127:
		w.left = binary.BigEndian.Uint64(rest)
		rest = rest[8:]
		if w.left>>63 != 0 {
			w.broken = true
			return
		}
	default:
		w.left = uint64(l)
	}
	if w.masked {
		copy(w.mask[:], rest)
	}
	w.offset = 0

	switch w.opcode {
	case opText, opBinary:
		// A new message while another is unfinished breaks the protocol;
		// the unfinished one is dropped.
		w.inMessage = true
		w.text = w.opcode == opText && !compressed
		w.prefix = w.prefix[:0]
	case opContinuation:
	case opClose, opPing, opPong:
		if !w.fin || w.left > maxControlPayload {
			w.broken = true
			return
		}
	default:
		w.broken = true
		return
	}
	w.inFrame = true
}

// payload takes payload bytes of the current frame.
func (w *frameWatcher) payload(p []byte) {
	keep := w.isData() && w.inMessage && w.text
	if !keep || len(w.prefix) >= maxWatchedPrefix {
		w.offset += uint64(len(p))
		return
	}
	for _, b := range p {
		if len(w.prefix) >= maxWatchedPrefix {
			break
		}
		if w.masked {
			b ^= w.mask[w.offset%4]
		}
		w.prefix = append(w.prefix, b)
		w.offset++
	}
}

// endFrame finishes the current frame and, with the last frame of a text
// message, reports the message's method.
func (w *frameWatcher) endFrame() {
	w.inFrame = false
	if !w.isData() || !w.fin || !w.inMessage {
		return
	}
	w.inMessage = false
	if !w.text {
		return
	}
	if m := messageMethod(w.prefix); m != "" && w.onMethod != nil {
		w.onMethod(m)
	}
}

func (w *frameWatcher) isData() bool {
	return w.opcode == opText || w.opcode == opBinary || w.opcode == opContinuation
}

// messageMethod returns the string value of the top-level "method" key of a
// JSON object, or "" when there is none. msg may be cut short: keys are
// read in order, so a method that comes before the cut is still found.
func messageMethod(msg []byte) string {
	dec := json.NewDecoder(bytes.NewReader(msg))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key == "method" {
			v, err := dec.Token()
			if s, ok := v.(string); ok && err == nil {
				return s
			}
			return ""
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}

	return ""
}
