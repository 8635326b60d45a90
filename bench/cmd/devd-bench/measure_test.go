package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeService is an HTTP server that sends the responses a test scripts,
// one per request, repeating the last one.
type fakeService struct {
	mu        sync.Mutex
	script    []response // guarded by mu
	requests  int        // guarded by mu
	hangFirst bool       // the first request blocks until the client gives up
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := f.requests
	f.requests++
	resp := f.script[min(n, len(f.script)-1)]
	f.mu.Unlock()

	if n == 0 && f.hangFirst {
		<-r.Context().Done()
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func newTestMeasurer(t *testing.T, f *fakeService) (*measurer, string) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	m := &measurer{
		client:        newHTTPClient(10 * time.Second),
		pollInterval:  time.Millisecond,
		saveTimeout:   10 * time.Second,
		settle:        20 * time.Millisecond,
		settleTimeout: 10 * time.Second,
		saveMode:      saveAtomic,
	}
	return m, srv.URL + "/"
}

func TestAwaitMessageNewMessage(t *testing.T) {
	old := response{Message: "old", Instance: "a"}
	f := &fakeService{script: []response{old, old, old, {Message: "new", Instance: "b"}}}
	m, url := newTestMeasurer(t, f)

	got, err := m.awaitMessage(context.Background(), url, "new", time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatalf("awaitMessage: %v", err)
	}
	if got.resp.Instance != "b" {
		t.Errorf("response instance = %q, want b", got.resp.Instance)
	}
	if got.polls < 4 {
		t.Errorf("polls = %d, want at least 4", got.polls)
	}
}

func TestAwaitMessageHungRequest(t *testing.T) {
	// The first GET hangs for the client's whole 10 s timeout. The new
	// message must be seen from the GETs sent after it.
	f := &fakeService{script: []response{{Message: "new"}}, hangFirst: true}
	m, url := newTestMeasurer(t, f)

	start := time.Now()
	got, err := m.awaitMessage(context.Background(), url, "new", time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatalf("awaitMessage: %v", err)
	}
	if got.resp.Message != "new" {
		t.Errorf("message = %q, want new", got.resp.Message)
	}
	if elapsed := time.Since(start); elapsed >= 5*time.Second {
		t.Errorf("awaitMessage took %s, want it not to wait for the hung request", elapsed)
	}
}

func TestAwaitMessageTimeout(t *testing.T) {
	f := &fakeService{script: []response{{Message: "old"}}}
	m, url := newTestMeasurer(t, f)

	_, err := m.awaitMessage(context.Background(), url, "new", time.Now().Add(30*time.Millisecond))
	if err == nil {
		t.Fatal("awaitMessage returned no error, want a timeout")
	}
	if !strings.Contains(err.Error(), `last message "old"`) {
		t.Errorf("error = %q, want it to name the last message", err)
	}
}

func TestSteadyCountsRestarts(t *testing.T) {
	// The second GET already gets a response from the new process, so that
	// however slowly a loaded machine polls, "a" is never steady.
	f := &fakeService{script: []response{
		{Message: "new", Instance: "a"},
		{Message: "new", Instance: "b"},
	}}
	m, url := newTestMeasurer(t, f)

	got, restarts, err := m.Steady(context.Background(), url, "a")
	if err != nil {
		t.Fatalf("Steady: %v", err)
	}
	if got.Instance != "b" {
		t.Errorf("steady instance = %q, want b", got.Instance)
	}
	if restarts != 1 {
		t.Errorf("restarts = %d, want 1", restarts)
	}
}

func TestWriteMessageAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "message.js")
	if err := os.WriteFile(path, []byte("module.exports = 'old';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &measurer{saveMode: saveAtomic}

	if err := m.writeMessage(path, "it's new"); err != nil {
		t.Fatalf("writeMessage: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `module.exports = "it's new";`) {
		t.Errorf("content = %q, want it to export the token", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder has %d entries, want only message.js (no temporary file left)", len(entries))
	}
}

func TestWriteMessageInPlaceKeepsInode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "message.js")
	if err := os.WriteFile(path, []byte("module.exports = 'old';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := inode(t, path)
	m := &measurer{saveMode: saveInPlace}

	if err := m.writeMessage(path, "new"); err != nil {
		t.Fatalf("writeMessage: %v", err)
	}
	if after := inode(t, path); after != before {
		t.Errorf("inode changed from %d to %d, want an in-place write", before, after)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
