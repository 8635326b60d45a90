package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxReadyTimeout caps the timeout that a restart request may set.
const maxReadyTimeout = 10 * time.Minute

var (
	// errShuttingDown is the error for requests that arrive while the
	// supervisor is stopping the command for good.
	errShuttingDown = errors.New("the supervisor is shutting down")

	// errBadRequest wraps errors about the request itself.
	errBadRequest = errors.New("bad request")
)

// controller is the part of the supervisor that the HTTP API calls. Its
// methods are safe for concurrent use, and each blocks until its request
// was handled or ctx ends.
type controller interface {
	restart(ctx context.Context, readyTimeout time.Duration) (RestartResult, error)
	status() StatusResult
	signal(ctx context.Context, name string) error
}

// newHandler serves the supervisor's HTTP API:
//
//	POST /restart[?timeout=30s]  stop, start again, wait for readiness
//	GET  /status                 the command's state
//	POST /signal?name=SIGHUP     signal the process group
//	/files/...                   the file API, when files is not nil
//
// Responses are JSON. Errors are {"error": "..."} with a non-200 status.
func newHandler(c controller, files *fileAPI) http.Handler {
	mux := http.NewServeMux()
	if files != nil {
		files.register(mux)
	}
	mux.HandleFunc("POST /restart", func(w http.ResponseWriter, r *http.Request) {
		timeout, err := parseTimeout(r.URL.Query().Get("timeout"))
		if err != nil {
			writeError(w, err)
			return
		}
		res, err := c.restart(r.Context(), timeout)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, c.status())
	})
	mux.HandleFunc("POST /signal", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if name == "" {
			writeError(w, fmt.Errorf("%w: the name parameter is missing, as in /signal?name=SIGHUP", errBadRequest))
			return
		}
		if err := c.signal(r.Context(), name); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	})
	return mux
}

// parseTimeout reads a restart's timeout: a Go duration ("30s", "1m") or a
// number of seconds. Empty means DefaultReadyTimeout.
func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return DefaultReadyTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, errSecs := strconv.ParseFloat(s, 64)
		if errSecs != nil {
			return 0, fmt.Errorf("%w: timeout %q is neither a duration such as 30s nor a number of seconds", errBadRequest, s)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: timeout %q must be positive", errBadRequest, s)
	}
	return min(d, maxReadyTimeout), nil
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case fileStatus(err) != 0:
		code = fileStatus(err)
	case errors.Is(err, errBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, errShuttingDown):
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, errorResponse{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
