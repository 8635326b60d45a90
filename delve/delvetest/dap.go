package delvetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"time"
)

// Message is a Debug Adapter Protocol message: a response or an event.
type Message struct {
	Seq        int             `json:"seq"`
	Type       string          `json:"type"`
	Command    string          `json:"command"`
	Event      string          `json:"event"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Message    string          `json:"message"`
	Body       json.RawMessage `json:"body"`
}

// DAP is a minimal Debug Adapter Protocol client, as an IDE speaks it to
// Delve. It is not safe for concurrent use.
type DAP struct {
	conn net.Conn
	r    *textproto.Reader
	seq  int
	// Events holds every event received so far, in order.
	Events []Message
}

// DialDAP connects to a Delve server that accepts several clients.
func DialDAP(addr string, timeout time.Duration) (*DAP, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("connecting to delve at %s: %w", addr, err)
	}

	return &DAP{conn: conn, r: textproto.NewReader(bufio.NewReader(conn))}, nil
}

// Close closes the connection.
func (d *DAP) Close() error { return d.conn.Close() }

// Request sends a request and reads messages until its response arrives
// or timeout passes, keeping the events read on the way.
func (d *DAP) Request(command string, args any, timeout time.Duration) (Message, error) {
	d.seq++
	req := map[string]any{"seq": d.seq, "type": "request", "command": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return Message{}, err
	}
	_ = d.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(d.conn, "Content-Length: %d\r\n\r\n%s", len(b), b); err != nil {
		return Message{}, fmt.Errorf("sending %s: %w", command, err)
	}
	for {
		m, err := d.read()
		if err != nil {
			return Message{}, fmt.Errorf("waiting for the %s response: %w", command, err)
		}
		if m.Type == "response" && m.RequestSeq == d.seq {
			return m, nil
		}
	}
}

// WaitEvent reads messages until an event named event arrives, or returns
// one already received after index from (an index into Events).
func (d *DAP) WaitEvent(event string, from int, timeout time.Duration) (Message, error) {
	for i := from; i < len(d.Events); i++ {
		if d.Events[i].Event == event {
			return d.Events[i], nil
		}
	}
	_ = d.conn.SetDeadline(time.Now().Add(timeout))
	for {
		m, err := d.read()
		if err != nil {
			return Message{}, fmt.Errorf("waiting for a %s event: %w", event, err)
		}
		if m.Type == "event" && m.Event == event {
			return m, nil
		}
	}
}

// read reads one framed message.
func (d *DAP) read() (Message, error) {
	hdr, err := d.r.ReadMIMEHeader()
	if err != nil {
		return Message{}, err
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		return Message{}, fmt.Errorf("reading message length: %w", err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(d.r.R, body); err != nil {
		return Message{}, err
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return Message{}, fmt.Errorf("decoding %s: %w", body, err)
	}
	if m.Type == "event" {
		d.Events = append(d.Events, m)
	}

	return m, nil
}
