package control

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"

	"github.com/devdtool/devd/debug"
	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// dashboardFiles are the dashboard's page, script and style sheet. They are
// plain files, with no build step, so the dashboard works offline.
//
//go:embed dashboard
var dashboardFiles embed.FS

// requestHeader is the header that the dashboard's script sends with every
// state-changing request. A page of another origin cannot send it without
// a CORS preflight, which the dashboard never grants.
const requestHeader = "X-Devd-Request"

// sseRetryMS is how long a browser waits before reconnecting a dropped
// event stream, in milliseconds.
const sseRetryMS = 2000

// Dashboard is devd's web dashboard: one page that shows the services, their
// syncs, restarts and debug ports and devd's live log, with buttons to
// restart, sync, pause and resume. It is an http.Handler for a loopback TCP
// listener (see ListenDashboard), safe for concurrent use.
//
// Endpoints: GET / and its assets, GET /api/status, GET /api/events (a
// Server-Sent Events stream with the query parameters of /v1/events), POST
// /api/services/{name}/restart, POST /api/services/{name}/sync, POST
// /api/pause and POST /api/resume (optional ?service=).
type Dashboard struct {
	api     *Server
	log     hclog.Logger
	handler http.Handler
}

// NewDashboard returns the dashboard of a backend's project. A nil log
// discards the dashboard's logs.
func NewDashboard(b Backend, log hclog.Logger) *Dashboard {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	d := &Dashboard{api: NewServer(b, log), log: log}

	assets, err := fs.Sub(dashboardFiles, "dashboard")
	if err != nil {
		panic(fmt.Sprintf("dashboard assets are not embedded: %v", err))
	}
	static := http.FileServerFS(assets)

	mux := http.NewServeMux()
	mux.Handle("/api/status", onlyMethod(http.MethodGet, d.api.handleStatus))
	mux.Handle("/api/events", onlyMethod(http.MethodGet, d.handleEvents))
	mux.Handle("/api/services/{name}/restart", onlyMethod(http.MethodPost, d.api.handleRestart))
	mux.Handle("/api/services/{name}/sync", onlyMethod(http.MethodPost, d.api.handleSync))
	mux.Handle("/api/pause", onlyMethod(http.MethodPost, d.api.handlePause))
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	}))
	mux.Handle("/api/resume", onlyMethod(http.MethodPost, d.api.handleResume))
	mux.Handle("/", onlyMethod(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		// The assets change with devd's version; revalidate them.
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	}))

	d.handler = logRequests(log, guardDashboard(mux))
	return d
}

func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.handler.ServeHTTP(w, r)
}

// Serve serves the dashboard on ln until ctx is cancelled, then ends the
// event streams, lets other requests finish for a short grace period and
// returns nil. It closes ln.
func (d *Dashboard) Serve(ctx context.Context, ln net.Listener) error {
	d.log.Info("dashboard listening", "url", "http://"+ln.Addr().String())
	return serveHTTP(ctx, ln, d, nil, d.log)
}

// ListenDashboard listens on a loopback TCP address for the dashboard, such
// as "127.0.0.1:7080", or "127.0.0.1:0" for any free port. It returns an
// error for other addresses: the dashboard can restart services and shows
// their output, so only local users may reach it.
func ListenDashboard(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid dashboard address %q: use host:port, such as 127.0.0.1:7080", addr)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("dashboard address %q is not a loopback address: the dashboard can restart services, "+
			"so it listens only on 127.0.0.1, ::1 or localhost", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for the dashboard: %w", err)
	}
	// Loopback is shared by every user of the machine: like the control
	// socket, the dashboard serves only the user running devd.
	return debug.SameUserListener{Listener: ln}, nil
}

// sseEvent is the data of one Server-Sent Event: the event's fields and the
// line that `devd logs` would print for it.
type sseEvent struct {
	event.Event
	Line string `json:"line"`
}

func (d *Dashboard) handleEvents(w http.ResponseWriter, r *http.Request) {
	filter, err := parseEventsQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := checkServices(d.api.backend.Status(), filter.serviceList()); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", sseRetryMS); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	emit := func(e event.Event) error {
		data, err := json.Marshal(sseEvent{Event: e, Line: Describe(e)})
		if err != nil {
			return err
		}
		// JSON escapes line breaks inside strings, so data is one SSE line.
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return err
		}
		return rc.Flush()
	}
	streamEvents(r.Context(), d.api.backend.Events(), filter, emit, d.log)
}

// guardDashboard rejects requests that a web page of another site could
// make: any request whose Host header is not a loopback name (a DNS
// rebinding attack points a name of the attacker's at 127.0.0.1), and
// state-changing requests without the dashboard's custom header or from
// another origin. It also sets headers that keep other pages from framing
// or embedding the dashboard.
func guardDashboard(next http.Handler) http.Handler {
	crossOrigin := http.NewCrossOriginProtection()
	crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request rejected: use the dashboard's own page")
	}))
	protected := crossOrigin.Handler(next)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")

		host := r.Host
		if hostOnly, _, err := net.SplitHostPort(host); err == nil {
			host = hostOnly
		}
		if !isLoopbackHost(host) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("host %q rejected: open the dashboard at a loopback address such as http://127.0.0.1:<port>/", r.Host))
			return
		}

		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(requestHeader) == "" {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s requests need the %s header, which the dashboard's page sends", r.Method, requestHeader))
			return
		}
		protected.ServeHTTP(w, r)
	})
}

// isLoopbackHost reports whether host, without a port, is "localhost" or a
// loopback IP address.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
