package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Ways of saving the message file, as given to -save-mode.
const (
	// saveAtomic writes a temporary file next to the target and renames it
	// over the target, as editors with "safe write" or "atomic save" do.
	saveAtomic = "atomic"
	// saveInPlace truncates the target and writes into it, as editors that
	// keep the file's inode do.
	saveInPlace = "inplace"
)

// response is the part of a service's GET / response body that the
// benchmark reads.
type response struct {
	Message  string `json:"message"`
	Instance string `json:"instance"` // a new id at every start of the process
}

// sample is one measured save.
type sample struct {
	Tool    string `json:"tool"`
	Service string `json:"service"`
	Index   int    `json:"index"` // counts warm-ups and measured saves apart, from 0
	Warmup  bool   `json:"warmup"`
	Token   string `json:"token"`
	// LatencyMS is the time in milliseconds from the start of the save to
	// the first response carrying the token. It is 0 when Error is set.
	LatencyMS float64 `json:"latency_ms"`
	// Polls is the number of GET requests sent until that response.
	Polls int `json:"polls"`
	// LastPollMS is how long the GET that got that response took, in
	// milliseconds. With the poll interval, it bounds how late the response
	// was seen.
	LastPollMS float64 `json:"last_poll_ms"`
	// Restarted is true when another process sent that response than before the save.
	Restarted bool `json:"restarted"`
	// ExtraRestarts counts the further restarts seen while the service
	// settled. More than 0 means the tool restarted more than once per save.
	ExtraRestarts int `json:"extra_restarts"`
	// Devd contains the step durations devd logged for the save; nil for
	// the other tools.
	Devd  *devdTimings `json:"devd,omitempty"`
	Error string       `json:"error,omitempty"`
}

// Latency returns the sample's latency as a duration.
func (s sample) Latency() time.Duration {
	return time.Duration(s.LatencyMS * float64(time.Millisecond))
}

// measurer saves message files and times how long the services take to
// respond with the new content.
//
// A measurer is used by one goroutine at a time.
type measurer struct {
	client        *http.Client
	pollInterval  time.Duration // between two GETs while waiting for a change
	saveTimeout   time.Duration // from a save to giving up on its response
	settle        time.Duration // time of unchanged responses needed before the next save
	settleTimeout time.Duration // upper bound for settling
	saveMode      string        // saveAtomic or saveInPlace
}

// newHTTPClient returns a client for polling a service on loopback. It keeps
// connections alive between polls, so that polling every few milliseconds
// does not exhaust ephemeral ports. The transport drops a connection that a
// restart broke and dials a new one.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}

// get sends GET / to a service and decodes the response.
func (m *measurer) get(ctx context.Context, url string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return response{}, fmt.Errorf("GET %s: unexpected status %s", url, resp.Status)
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return response{}, fmt.Errorf("decoding the response of %s: %w", url, err)
	}
	return r, nil
}

// Steady waits until the service has sent the same message from the same
// process for m.settle. It returns the last response and the number of times
// the responding process changed meanwhile. fromInstance is the process
// that responded last before the call, or "".
func (m *measurer) Steady(ctx context.Context, url, fromInstance string) (response, int, error) {
	deadline := time.Now().Add(m.settleTimeout)
	var (
		last     response
		since    time.Time // when last was first seen; zero after a failed GET
		restarts int
		lastErr  error
	)
	prevInstance := fromInstance
	for {
		r, err := m.get(ctx, url)
		now := time.Now()
		if err != nil {
			since, lastErr = time.Time{}, err
		} else {
			if prevInstance != "" && r.Instance != prevInstance {
				restarts++
			}
			prevInstance = r.Instance
			if since.IsZero() || r != last {
				last, since = r, now
			} else if now.Sub(since) >= m.settle {
				return last, restarts, nil
			}
		}
		if now.After(deadline) {
			return last, restarts, fmt.Errorf("waiting for %s to respond unchanged for %s: timed out after %s (last error: %v)", url, m.settle, m.settleTimeout, lastErr)
		}
		if err := sleep(ctx, m.pollInterval); err != nil {
			return last, restarts, err
		}
	}
}

// Save writes a new token into the service's message file and waits until
// the service responds with it, then until it is steady again. before is
// the steady response from before the save, and Save returns the steady
// response after it. A save that fails is recorded in the sample. The
// error reports only cancellation and a service that does not settle.
func (m *measurer) Save(ctx context.Context, s *stack, svc string, before response, smp sample) (sample, response, error) {
	url := s.URL(svc)
	smp.Token = newToken(smp.Tool, svc)

	start := time.Now()
	if err := m.writeMessage(s.MessageFile(svc), smp.Token); err != nil {
		smp.Error = err.Error()
		return smp, before, nil
	}

	a, err := m.awaitMessage(ctx, url, smp.Token, start.Add(m.saveTimeout))
	smp.Polls = a.polls
	switch {
	case ctx.Err() != nil:
		return smp, before, ctx.Err()
	case err != nil:
		smp.Error = fmt.Sprintf("%v (-save-timeout %s)", err, m.saveTimeout)
	default:
		smp.LatencyMS = milliseconds(a.at.Sub(start))
		smp.LastPollMS = milliseconds(a.took)
		smp.Restarted = a.resp.Instance != before.Instance
	}
	got := a.resp

	after, restarts, err := m.Steady(ctx, url, got.Instance)
	if smp.Error == "" {
		smp.ExtraRestarts = restarts
	}
	return smp, after, err
}

// writeMessage saves a message file that exports token.
func (m *measurer) writeMessage(path, token string) error {
	content := fmt.Appendf(nil, "// Written by devd-bench.\nmodule.exports = %q;\n", token)
	if m.saveMode == saveInPlace {
		return os.WriteFile(path, content, 0o644)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}

// newToken returns a message that no earlier save has written.
func newToken(tool, svc string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("bench %s %s %s", tool, svc, hex.EncodeToString(b))
}

// milliseconds converts d to fractional milliseconds.
func milliseconds(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
