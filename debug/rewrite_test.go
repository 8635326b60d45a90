package debug

import (
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
)

// nodeList is a /json/list response of Node.js v20, requested with Host
// 127.0.0.1:19229.
const nodeList = `[ {
  "description": "node.js instance",
  "devtoolsFrontendUrl": "devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=127.0.0.1:19229/f8a08d4c-0079-4002-a6e9-4af4a2e0e448",
  "devtoolsFrontendUrlCompat": "devtools://devtools/bundled/inspector.html?experiments=true&v8only=true&ws=127.0.0.1:19229/f8a08d4c-0079-4002-a6e9-4af4a2e0e448",
  "faviconUrl": "https://nodejs.org/static/images/favicons/favicon.ico",
  "id": "f8a08d4c-0079-4002-a6e9-4af4a2e0e448",
  "title": "node[21951]",
  "type": "node",
  "url": "file:///usr/src/app/server.js",
  "webSocketDebuggerUrl": "ws://127.0.0.1:19229/f8a08d4c-0079-4002-a6e9-4af4a2e0e448"
} ]`

func TestRewriteURLs(t *testing.T) {
	const id = "f8a08d4c-0079-4002-a6e9-4af4a2e0e448"
	for _, to := range []string{"devbox.test:19229", "localhost:19229", "[::1]:19229", "127.0.0.1:19229"} {
		out := rewriteURLs([]byte(nodeList), "127.0.0.1:19229", to)
		var got []map[string]string
		if err := json.Unmarshal(out, &got); err != nil || len(got) != 1 {
			t.Fatalf("to %s: rewritten answer %s does not decode: %v", to, out, err)
		}
		var want []map[string]string
		if err := json.Unmarshal([]byte(nodeList), &want); err != nil {
			t.Fatal(err)
		}
		want[0]["webSocketDebuggerUrl"] = "ws://" + to + "/" + id
		want[0]["devtoolsFrontendUrl"] = "devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=" + to + "/" + id
		want[0]["devtoolsFrontendUrlCompat"] = "devtools://devtools/bundled/inspector.html?experiments=true&v8only=true&ws=" + to + "/" + id
		for k, v := range want[0] {
			if got[0][k] != v {
				t.Errorf("to %s: %s = %q, want %q", to, k, got[0][k], v)
			}
		}
		if strings.Contains(string(out), `\u0026`) {
			t.Errorf("to %s: & escaped in %s", to, out)
		}
	}

	// A single record, as /json/version, and bodies that are not JSON.
	record := `{"webSocketDebuggerUrl":"ws://127.0.0.1:1/x","Browser":"node.js/v20"}`
	if got := string(rewriteURLs([]byte(record), "127.0.0.1:1", "h:1")); !strings.Contains(got, `"ws://h:1/x"`) || !strings.Contains(got, `"node.js/v20"`) {
		t.Errorf("single record rewritten to %s", got)
	}
	for _, body := range []string{"WebSockets request was expected", "", `"ws://127.0.0.1:1/x"`} {
		if got := string(rewriteURLs([]byte(body), "127.0.0.1:1", "h:1")); got != body {
			t.Errorf("rewriteURLs(%q) = %q, want it unchanged", body, got)
		}
	}
}

func TestPublicHost(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 19229}
	tests := []struct {
		header, want string
		err          bool
	}{
		{"", "127.0.0.1:19229", false},
		{"devbox.test:19229", "devbox.test:19229", false},
		{"devbox.test", "devbox.test:19229", false},
		{"devbox.test:", "devbox.test:19229", false},
		{"[::1]", "[::1]:19229", false},
		{"[::1]:8080", "[::1]:8080", false},
		{"localhost:80", "localhost:80", false},
		{`a"b`, "", true},
		{"a b", "", true},
		{"a/b", "", true},
		{strings.Repeat("a", 300), "", true},
	}
	for _, tt := range tests {
		got, err := publicHost(tt.header, local)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("publicHost(%q) = %q, %v; want %q, error %v", tt.header, got, err, tt.want, tt.err)
		}
	}
}

func TestRewritablePath(t *testing.T) {
	for path, want := range map[string]bool{
		"/json": true, "/json/": true, "/json/list": true, "/json/list/": true, "/json/version": true,
		"/json/protocol": false, "/": false, "/json/listx": false, "/f8a08d4c": false,
	} {
		if got := rewritablePath(path); got != want {
			t.Errorf("rewritablePath(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	for origin, ok := range map[string]bool{
		"":                         true,
		"devtools://devtools":      true,
		"chrome-devtools://x":      true,
		"http://localhost:3000":    true,
		"https://127.0.0.1":        true,
		"http://[::1]:8080":        true,
		"http://devbox.test:19229": false,
		"http://localhost.evil.io": false,
		"null":                     false,
		"file://":                  false,
		"%zz":                      false,
	} {
		err := checkOrigin(origin)
		if (err == nil) != ok {
			t.Errorf("checkOrigin(%q) = %v, want allowed %v", origin, err, ok)
		}
		if err != nil && !errors.Is(err, errOrigin) {
			t.Errorf("checkOrigin(%q) = %v, want errOrigin", origin, err)
		}
	}
}

func TestTargetIDs(t *testing.T) {
	if got := targetIDs([]byte(nodeList)); !slices.Equal(got, []string{"f8a08d4c-0079-4002-a6e9-4af4a2e0e448"}) {
		t.Errorf("targetIDs(node's list) = %v", got)
	}
	for _, body := range []string{`{"id":"x"}`, `[{"title":"no id"}]`, "garbage"} {
		if got := targetIDs([]byte(body)); got != nil {
			t.Errorf("targetIDs(%s) = %v, want nil", body, got)
		}
	}
}

func TestRecentTargets(t *testing.T) {
	var r recentTargets
	for i := range maxRecentTargets + 10 {
		r.add(strings.Repeat("x", i+1))
	}
	r.add("", "x")
	if len(r) != maxRecentTargets {
		t.Errorf("%d ids kept, want %d", len(r), maxRecentTargets)
	}
	if r.has("") || !r.has("x") || !r.has(strings.Repeat("x", maxRecentTargets+10)) || r.has("xx") {
		t.Errorf("kept the wrong ids: %v", r)
	}
}
