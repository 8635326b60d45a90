// Command billing is the Go service of the devd example stack. Its GET /
// response contains the Message constant of message.go and facts about the
// serving process, so a test can tell both that an edit reached the
// container and that the process was restarted. It uses only the Go
// standard library, so building it downloads nothing.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

const (
	// shutdownGrace is how long a shutdown waits for open requests before
	// closing their connections.
	shutdownGrace = time.Second
	// readHeaderTimeout bounds how long a client may take to send its
	// request headers.
	readHeaderTimeout = 5 * time.Second
)

// hello is the GET / response.
type hello struct {
	Service   string `json:"service"`
	Message   string `json:"message"`
	Go        string `json:"go"`
	PID       int    `json:"pid"`
	Instance  string `json:"instance"`
	StartedAt string `json:"startedAt"`
}

func main() {
	log.SetFlags(0)
	service := getenv("SERVICE_NAME", "billing")
	port := getenv("PORT", "5000")

	// Process ids repeat across container restarts (each container starts
	// a new PID namespace), so every start also gets a random instance id.
	instance := newInstanceID()
	info := hello{
		Service:   service,
		Message:   Message,
		Go:        runtime.Version(),
		PID:       os.Getpid(),
		Instance:  instance,
		StartedAt: time.Now().UTC().Format(time.RFC3339Nano),
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		sendJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		sendJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sendJSON(w, http.StatusNotFound, map[string]string{"error": "not found", "path": r.URL.Path})
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: readHeaderTimeout}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	log.Printf("%s: listening on port %s (pid %d, instance %s)", service, port, info.PID, instance)

	select {
	case err := <-served:
		log.Fatalf("%s: serving: %v", service, err)
	case <-ctx.Done():
	}

	log.Printf("%s: signal received, closing the server", service)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still open after the grace period are cut off.
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("%s: serving: %v", service, err)
	}
}

func sendJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func newInstanceID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		log.Fatalf("reading random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}
