package debug

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// inspectorHost is the Host header the Proxy sends the inspector for a
// debugger that reached the proxy on port: an IP literal, which the
// inspector always accepts. The Proxy then finds it in the URLs of the
// response and replaces it with the host the debugger used.
func inspectorHost(port string) string {
	return net.JoinHostPort(defaultHost, port)
}

// publicHost returns the "host:port" a debugger used to reach the Proxy:
// the request's Host header, with local's port added when the header has
// none. Without a Host header it is local, the address the connection
// arrived at, so that no response carries the container's address.
func publicHost(hostHeader string, local net.Addr) (string, error) {
	_, localPort, err := net.SplitHostPort(local.String())
	if err != nil {
		return "", fmt.Errorf("reading the proxy's address %s: %w", local, err)
	}
	if hostHeader == "" {
		return local.String(), nil
	}
	if !validHost(hostHeader) {
		return "", fmt.Errorf("invalid Host header %q", hostHeader)
	}
	host, port, err := net.SplitHostPort(hostHeader)
	switch {
	case err != nil:
		host = strings.Trim(hostHeader, "[]")
	case port != "":
		return hostHeader, nil
	}

	return net.JoinHostPort(host, localPort), nil
}

// validHost reports whether h is fit to stand in a URL as its host and
// port: letters, digits and the punctuation of names, IPv6 literals and
// ports. Anything else would break the URLs the Proxy writes into responses.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(".-_:[]%", c):
		default:
			return false
		}
	}

	return true
}

// rewritablePath reports whether the response to a GET of path is a target
// list or version record whose URLs name the host the inspector was asked
// by: /json, /json/list and /json/version, with or without a final slash.
func rewritablePath(path string) bool {
	switch strings.TrimSuffix(path, "/") {
	case "/json", "/json/list", "/json/version":
		return true
	}

	return false
}

// urlFields are the fields of the inspector's responses that contain a
// URL built from the Host header of the request.
var urlFields = []string{"webSocketDebuggerUrl", "devtoolsFrontendUrl", "devtoolsFrontendUrlCompat"}

// rewriteURLs replaces the host from with to in the WebSocket URLs of an
// inspector response: a target list or a single record. The inspector writes
// the host it was asked by into webSocketDebuggerUrl ("ws://HOST/ID") and
// into the DevTools URLs ("...&ws=HOST/ID"). Other fields, and a body that
// is not such JSON, are left as they are. The inspector writes its keys in
// sorted order, which encoding the objects again keeps.
func rewriteURLs(body []byte, from, to string) []byte {
	if from == to {
		return body
	}
	var list []map[string]json.RawMessage
	var single map[string]json.RawMessage
	var out any
	switch {
	case json.Unmarshal(body, &list) == nil:
		for _, obj := range list {
			rewriteObject(obj, from, to)
		}
		out = list
	case json.Unmarshal(body, &single) == nil:
		rewriteObject(single, from, to)
		out = single
	default:
		return body
	}

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return body
	}

	return b.Bytes()
}

// rewriteObject rewrites the URL fields of one target record in place.
func rewriteObject(obj map[string]json.RawMessage, from, to string) {
	replace := strings.NewReplacer("ws://"+from+"/", "ws://"+to+"/", "ws="+from+"/", "ws="+to+"/")
	for _, key := range urlFields {
		var s string
		if raw, ok := obj[key]; !ok || json.Unmarshal(raw, &s) != nil {
			continue
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(replace.Replace(s)) == nil {
			obj[key] = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		}
	}
}

// targetIDs reads the target ids of a /json/list response. It returns nil
// for anything else.
func targetIDs(body []byte) []string {
	var targets []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &targets) != nil {
		return nil
	}
	var ids []string
	for _, t := range targets {
		if t.ID != "" {
			ids = append(ids, t.ID)
		}
	}

	return ids
}

// errOrigin is returned by checkOrigin for a WebSocket handshake from a
// web page that may not open a debugging session.
var errOrigin = errors.New("origin may not open a debugging session")

// checkOrigin accepts the Origin header of a WebSocket handshake when it is
// absent (IDEs and command-line debuggers send none), a DevTools front end,
// or a page served from a loopback address.
//
// Browsers always send Origin with a WebSocket handshake. The inspector
// itself refuses a Host header that is a name, which stops a web page from
// reaching it through DNS rebinding (a name of the page's that resolves to
// 127.0.0.1). The Proxy accepts any name instead, so it refuses the
// session by the page's origin, which under rebinding is a name too.
func checkOrigin(origin string) error {
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("%w: unreadable origin %q", errOrigin, origin)
	}
	switch u.Scheme {
	case "devtools", "chrome-devtools":
		return nil
	case "http", "https":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
	}

	return fmt.Errorf("%w: %q is not a DevTools front end or a loopback page", errOrigin, origin)
}

// isLoopbackHost is IsLoopback for a host without a port.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)

	return err == nil && ip.Unmap().IsLoopback()
}
