package debug

import (
	"bufio"
	"io"
	"net"
)

// maxMethodLen is the length of the longest HTTP method ("OPTIONS",
// "CONNECT") that detection recognises.
const maxMethodLen = 7

// serveDetected serves a connection whose protocol is not configured. It
// waits for the first bytes of either side. A debugger that starts with an
// HTTP request is talking to the Node.js inspector. Anything else (a Delve
// JSON-RPC or DAP client, or a target that speaks first) is forwarded as
// bytes.
func (p *Proxy) serveDetected(f *forward, backend net.Conn) {
	cr := bufio.NewReaderSize(f.client, maxRequestHeader)
	br := bufio.NewReader(backend)
	client := sniff(func() bool { return looksLikeHTTP(cr) })
	target := sniff(func() bool {
		_, err := br.Peek(1)
		return err == nil
	})
	// Each sniffer ends once its side has sent something or is closed, so
	// closing both connections ends them.
	defer func() {
		_ = f.client.Close()
		_ = backend.Close()
		<-client.done
		<-target.done
	}()

	select {
	case <-client.done:
		backendR := &lazyReader{ready: target.done, r: br}
		if client.result {
			p.serveInspector(f, cr, backend, bufio.NewReader(backendR))
			return
		}
		p.pipeTapped(f.client, cr, backend, backendR)
	case <-target.done:
		p.pipeTapped(f.client, &lazyReader{ready: client.done, r: cr}, backend, br)
	}
}

// sniffer runs one test on a connection's first bytes in a goroutine of its
// own. result may be read once done is closed.
type sniffer struct {
	done   chan struct{}
	result bool
}

func sniff(test func() bool) *sniffer {
	s := &sniffer{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.result = test()
	}()

	return s
}

// looksLikeHTTP reports whether r starts with an HTTP method and a space.
// It reads only as far as it must: a byte that cannot belong to a method
// decides at once, so a client that sends a short binary message and waits
// for the response is never held up.
func looksLikeHTTP(r *bufio.Reader) bool {
	for n := 1; n <= maxMethodLen+1; n++ {
		b, err := r.Peek(n)
		if err != nil {
			return false
		}
		switch c := b[n-1]; {
		case c == ' ':
			return n > 1
		case c < 'A' || c > 'Z':
			return false
		}
	}

	return false
}

// lazyReader reads r once ready is closed: r belongs to a sniffer until
// then.
type lazyReader struct {
	ready <-chan struct{}
	r     *bufio.Reader
}

func (l *lazyReader) Read(p []byte) (int, error) {
	<-l.ready
	return l.r.Read(p)
}

// WriteTo lets io.Copy hand the copy to the buffered reader, which splices
// between TCP connections once its buffer is empty.
func (l *lazyReader) WriteTo(w io.Writer) (int64, error) {
	<-l.ready
	return l.r.WriteTo(w)
}
