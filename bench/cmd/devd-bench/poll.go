package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// maxInFlight bounds the GETs awaitMessage has open at once. At a 2 ms
// interval and a 200 ms request timeout at most 100 are open, reached only
// while the service is down and requests to its port hang.
const maxInFlight = 128

// pollResult is the outcome of one GET sent by awaitMessage.
type pollResult struct {
	resp     response
	err      error
	sent     time.Time
	received time.Time
}

// awaited describes a wait of awaitMessage.
type awaited struct {
	resp  response      // the first response carrying the message
	at    time.Time     // when that response was received
	took  time.Duration // how long the GET that got it took
	polls int           // GETs sent
	last  pollResult    // the last result that did not carry the message
}

// awaitMessage sends GET to url every m.pollInterval, each on a goroutine of
// its own, until a response carries message or deadline passes.
//
// While a service restarts, a GET to its published port can hang until the
// request timeout (seen with Docker 20.10 and its userland port proxy).
// Sequential polls would then see the new process up to a request timeout
// late. Sending on a fixed schedule, whatever is in
// flight, keeps the delay between the service being ready and a response
// being seen within one poll interval plus one request.
//
// It waits for every GET it sent before returning.
func (m *measurer) awaitMessage(ctx context.Context, url, message string, deadline time.Time) (awaited, error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	results := make(chan pollResult, maxInFlight)
	inFlight := 0
	var a awaited
	send := func() {
		inFlight++
		a.polls++
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := pollResult{sent: time.Now()}
			r.resp, r.err = m.get(ctx, url)
			r.received = time.Now()
			results <- r
		}()
	}

	ticker := time.NewTicker(m.pollInterval)
	defer ticker.Stop()
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()

	send()
	for {
		select {
		case <-ticker.C:
			if inFlight < maxInFlight {
				send()
			}
		case r := <-results:
			inFlight--
			if r.err == nil && r.resp.Message == message {
				a.resp, a.at, a.took = r.resp, r.received, r.received.Sub(r.sent)
				return a, nil
			}
			a.last = r
		case <-timeout.C:
			return a, fmt.Errorf("timed out waiting for the new message (last message %q, last error %v)", a.last.resp.Message, a.last.err)
		case <-ctx.Done():
			return a, ctx.Err()
		}
	}
}
