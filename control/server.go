package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// ErrUnknownService is returned, wrapped, by a Backend for a service the
// project does not have. The server responds to it with 404.
var ErrUnknownService = errors.New("unknown service")

// ErrPaused is returned, wrapped, by a Backend for a request that a paused
// service cannot serve now. The server responds to it with 409.
var ErrPaused = errors.New("paused")

// Timeouts of the HTTP servers in this package.
const (
	// readHeaderTimeout bounds how long a client may take to send its
	// request headers.
	readHeaderTimeout = 10 * time.Second
	// shutdownGrace is how long Serve lets requests in progress finish
	// once its context is cancelled. Event streams end at once.
	shutdownGrace = 5 * time.Second
)

// Server serves the control API over a Unix socket. Create it with
// NewServer; it is safe for concurrent use.
type Server struct {
	backend Backend
	log     hclog.Logger
	handler http.Handler
}

// NewServer returns a server for the backend's project. A nil log discards
// the server's logs.
func NewServer(b Backend, log hclog.Logger) *Server {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	s := &Server{backend: b, log: log}

	mux := http.NewServeMux()
	mux.Handle("/v1/status", onlyMethod(http.MethodGet, s.handleStatus))
	mux.Handle("/v1/events", onlyMethod(http.MethodGet, s.handleEvents))
	mux.Handle("/v1/services/{name}/restart", onlyMethod(http.MethodPost, s.handleRestart))
	mux.Handle("/v1/services/{name}/sync", onlyMethod(http.MethodPost, s.handleSync))
	mux.Handle("/v1/pause", onlyMethod(http.MethodPost, s.handlePause))
	mux.Handle("/v1/resume", onlyMethod(http.MethodPost, s.handleResume))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s: the endpoints are under /v1", r.Method, r.URL.Path))
	})
	s.handler = logRequests(log, sameUser(mux))
	return s
}

// Serve accepts connections on ln until ctx is cancelled, then stops
// accepting, ends event streams, lets other requests finish for a short
// grace period and returns nil. It returns an error when accepting fails.
// Serve closes ln. Requests from other users get 403. ln should be a Unix
// socket listener, because the server rejects connections of other kinds,
// which carry no user ID.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("control api listening", "address", ln.Addr().String())
	return serveHTTP(ctx, ln, s.handler, withPeer, s.log)
}

// serveHTTP runs an HTTP/1.1 server on ln until ctx is cancelled. Request
// contexts derive from ctx, so streaming handlers end when it is cancelled.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, connContext func(context.Context, net.Conn) context.Context, log hclog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       connContext,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	select {
	case err := <-done:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still running at shutdown", "error", err)
		srv.Close()
	}
	<-done
	return nil
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if !noQuery(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.status())
}

// status returns the backend's status with empty lists instead of nil, so
// JSON clients always see arrays, and this process's ID when the backend
// left it out.
func (s *Server) status() Status {
	return completeStatus(s.backend.Status())
}

func completeStatus(st Status) Status {
	if st.PID == 0 {
		st.PID = os.Getpid()
	}
	if st.Services == nil {
		st.Services = []ServiceStatus{}
	}
	for i := range st.Services {
		svc := &st.Services[i]
		if svc.Containers == nil {
			svc.Containers = []ContainerStatus{}
		}
		if svc.Errors == nil {
			svc.Errors = []string{}
		}
		if svc.Debug == nil {
			svc.Debug = []DebugStatus{}
		}
	}
	return st
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	filter, err := parseEventsQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := checkServices(s.backend.Status(), filter.serviceList()); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	emit := func(e event.Event) error {
		if err := enc.Encode(e); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := rc.Flush(); err != nil {
		return
	}
	streamEvents(r.Context(), s.backend.Events(), filter, emit, s.log)
}

func (s *Server) handleRestart(w http.ResponseWriter, r *http.Request) {
	s.serviceAction(w, r, "restarting", s.backend.Restart)
}

func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	s.serviceAction(w, r, "syncing", s.backend.Sync)
}

func (s *Server) serviceAction(w http.ResponseWriter, r *http.Request, verb string, action func(context.Context, string) error) {
	if !noQuery(w, r) {
		return
	}
	name := r.PathValue("name")
	if err := checkServices(s.backend.Status(), []string{name}); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err := action(r.Context(), name); err != nil {
		writeBackendError(w, fmt.Errorf("%s %s: %w", verb, name, err))
		return
	}
	writeJSON(w, http.StatusOK, s.status())
}

func (s *Server) handlePause(w http.ResponseWriter, r *http.Request) {
	s.pauseAction(w, r, "pausing", s.backend.Pause)
}

func (s *Server) handleResume(w http.ResponseWriter, r *http.Request) {
	s.pauseAction(w, r, "resuming", s.backend.Resume)
}

func (s *Server) pauseAction(w http.ResponseWriter, r *http.Request, verb string, action func(string) error) {
	service, err := parseServiceQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	target := "every service"
	if service != "" {
		if err := checkServices(s.backend.Status(), []string{service}); err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		target = service
	}
	if err := action(service); err != nil {
		writeBackendError(w, fmt.Errorf("%s %s: %w", verb, target, err))
		return
	}
	writeJSON(w, http.StatusOK, s.status())
}

// checkServices returns an error naming the first of names that the
// project does not have, and listing those it has.
func checkServices(st Status, names []string) error {
	known := make(map[string]bool, len(st.Services))
	for _, svc := range st.Services {
		known[svc.Name] = true
	}
	for _, name := range names {
		if !known[name] {
			return unknownService(st, name)
		}
	}
	return nil
}

func unknownService(st Status, name string) error {
	names := make([]string, 0, len(st.Services))
	for _, svc := range st.Services {
		names = append(names, svc.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("%w %q; devd supervises no service of this project", ErrUnknownService, name)
	}
	return fmt.Errorf("%w %q; the project's services are %s", ErrUnknownService, name, strings.Join(names, ", "))
}

// writeBackendError responds to an error of the backend with 404 for an
// unknown service, 409 for a paused one, 503 when the request was cancelled
// because devd is stopping, and 500 otherwise.
func writeBackendError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnknownService):
		code = http.StatusNotFound
	case errors.Is(err, ErrPaused):
		code = http.StatusConflict
	case errors.Is(err, context.Canceled):
		code = http.StatusServiceUnavailable
	}
	writeError(w, code, err.Error())
}
