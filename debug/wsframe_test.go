package debug

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// frame builds one WebSocket frame. A non-nil mask masks the payload.
func frame(fin bool, rsv1 bool, opcode byte, payload []byte, mask []byte) []byte {
	var b bytes.Buffer
	first := opcode
	if fin {
		first |= 0x80
	}
	if rsv1 {
		first |= 0x40
	}
	b.WriteByte(first)
	maskBit := byte(0)
	if mask != nil {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b.WriteByte(maskBit | byte(n))
	case n <= 0xffff:
		b.WriteByte(maskBit | 126)
		_ = binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(maskBit | 127)
		_ = binary.Write(&b, binary.BigEndian, uint64(n))
	}
	if mask != nil {
		b.Write(mask)
		masked := slices.Clone(payload)
		for i := range masked {
			masked[i] ^= mask[i%4]
		}
		payload = masked
	}
	b.Write(payload)

	return b.Bytes()
}

func text(s string) []byte { return frame(true, false, opText, []byte(s), nil) }

const (
	pausedMsg  = `{"method":"Debugger.paused","params":{"reason":"other"}}`
	resumedMsg = `{"method":"Debugger.resumed","params":{}}`
)

func TestFrameWatcher(t *testing.T) {
	long := `{"method":"Debugger.paused","params":{"callFrames":"` + strings.Repeat("x", 70000) + `"}}`
	mask := []byte{1, 2, 3, 4}
	tests := []struct {
		name   string
		stream [][]byte
		want   []string
	}{
		{"one text frame", [][]byte{text(pausedMsg)}, []string{"Debugger.paused"}},
		{"answers have no method", [][]byte{text(`{"id":3,"result":{}}`), text(resumedMsg)}, []string{"Debugger.resumed"}},
		{"method after other keys", [][]byte{text(`{"params":{"a":[1,{"b":2}]},"method":"Debugger.resumed"}`)}, []string{"Debugger.resumed"}},
		{"16-bit length", [][]byte{text(`{"method":"Debugger.paused","params":{"p":"` + strings.Repeat("y", 300) + `"}}`)}, []string{"Debugger.paused"}},
		{"64-bit length, cut after the prefix", [][]byte{text(long), text(resumedMsg)}, []string{"Debugger.paused", "Debugger.resumed"}},
		{"fragments with a ping between", [][]byte{
			frame(false, false, opText, []byte(pausedMsg[:10]), nil),
			frame(true, false, opPing, []byte("hi"), nil),
			frame(false, false, opContinuation, []byte(pausedMsg[10:20]), nil),
			frame(true, false, opContinuation, []byte(pausedMsg[20:]), nil),
		}, []string{"Debugger.paused"}},
		{"masked", [][]byte{frame(true, false, opText, []byte(pausedMsg), mask)}, []string{"Debugger.paused"}},
		{"empty frames", [][]byte{frame(false, false, opText, nil, nil), frame(true, false, opContinuation, []byte(resumedMsg), nil)}, []string{"Debugger.resumed"}},
		{"binary is skipped", [][]byte{frame(true, false, opBinary, []byte(pausedMsg), nil), text(resumedMsg)}, []string{"Debugger.resumed"}},
		{"compressed is skipped", [][]byte{frame(true, true, opText, []byte(pausedMsg), nil), text(resumedMsg)}, []string{"Debugger.resumed"}},
		{"continuation without a start is skipped", [][]byte{frame(true, false, opContinuation, []byte(pausedMsg), nil), text(resumedMsg)}, []string{"Debugger.resumed"}},
		{"unfinished message replaced", [][]byte{
			frame(false, false, opText, []byte(pausedMsg[:10]), nil),
			text(resumedMsg),
		}, []string{"Debugger.resumed"}},
		{"not JSON", [][]byte{text("Debugger.paused"), text(`["method","Debugger.paused"]`)}, nil},
		{"method is not a string", [][]byte{text(`{"method":{"name":"Debugger.paused"}}`)}, nil},
		{"unknown opcode stops watching", [][]byte{frame(true, false, 0x3, []byte("x"), nil), text(pausedMsg)}, nil},
		{"fragmented control frame stops watching", [][]byte{frame(false, false, opPing, []byte("x"), nil), text(pausedMsg)}, nil},
		{"length with the top bit stops watching", [][]byte{{0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, text(pausedMsg)}, nil},
	}
	for _, tt := range tests {
		stream := bytes.Join(tt.stream, nil)
		// Whole, and one byte at a time: the split must not matter.
		for _, chunk := range []int{len(stream), 1, 7} {
			var got []string
			w := &frameWatcher{onMethod: func(m string) { got = append(got, m) }}
			for rest := stream; len(rest) > 0; {
				n := min(chunk, len(rest))
				if k, err := w.Write(rest[:n]); k != n || err != nil {
					t.Fatalf("%s: Write = %d, %v; want %d, nil", tt.name, k, err, n)
				}
				rest = rest[n:]
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s, in chunks of %d: methods %q, want %q", tt.name, chunk, got, tt.want)
			}
		}
	}
}

func TestFrameWatcherGarbage(t *testing.T) {
	// Any bytes at all: the watcher consumes them and never fails.
	for _, garbage := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		bytes.Repeat([]byte{0xff}, 100),
		{0x81},
		{0x81, 0xfe},
		bytes.Repeat([]byte{0x01, 0x7e, 0x00}, 50),
	} {
		w := &frameWatcher{onMethod: func(string) {}}
		if n, err := w.Write(garbage); n != len(garbage) || err != nil {
			t.Errorf("Write(%q) = %d, %v", garbage, n, err)
		}
	}
}

func TestMessageMethod(t *testing.T) {
	for in, want := range map[string]string{
		`{"method":"Debugger.paused"}`:                   "Debugger.paused",
		` { "id": 1, "method" : "Runtime.evaluate" } `:   "Runtime.evaluate",
		`{"params":{"method":"inner"},"method":"outer"}`: "outer",
		`{"params":{"method":"inner"}}`:                  "",
		`{"method":"Debugger.paused","params":{"cut`:     "Debugger.paused",
		`{"params":{"cut`:                                "",
		`{"method":1}`:                                   "",
		`[]`:                                             "",
		``:                                               "",
	} {
		if got := messageMethod([]byte(in)); got != want {
			t.Errorf("messageMethod(%s) = %q, want %q", in, got, want)
		}
	}
}
