//go:build linux

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// shutdownTimeout bounds the wait for responses still being written when
// the supervisor exits.
const shutdownTimeout = 2 * time.Second

// exitInvalidConfig is Run's exit code for a configuration it refuses.
const exitInvalidConfig = 2

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// supervisor runs one command. One goroutine, the owner, runs loop and is
// the only one that starts, stops or signals the command and that touches
// the fields marked "owner". HTTP handlers reach it through the restarts and
// signals channels; every send also selects on exiting.
type supervisor struct {
	cfg     Config
	log     hclog.Logger
	stopSig syscall.Signal
	ready   readyCheck
	reaper  *reaper
	tty     int // the controlling terminal's descriptor, or -1

	restarts  chan restartRequest
	signals   chan signalRequest
	osSignals chan os.Signal
	ctxDone   <-chan struct{} // owner: set to nil once handled
	exiting   chan struct{}   // closed when the owner stops taking requests

	child    *child         // owner: the running command, nil when none runs
	shutdown syscall.Signal // owner: the signal that ended the supervisor, 0 until then
	lastExit *ExitStatus    // owner

	mu    sync.Mutex
	state StatusResult // guarded by mu; the owner updates it

	files *fileAPI // nil when the file API is off
}

// Run supervises cfg.Argv until it exits on its own or the supervisor gets
// SIGTERM or SIGINT or ctx ends, and returns the exit code
// the supervisor should exit with: the command's own (128 plus the signal
// number for a signal). The error is non-nil only when the supervisor could
// not do its job: an invalid Config (ErrInvalidConfig, exit code 2) or a
// command that could not be started (exit code 126 or 127).
//
// Run waits for children with wait4(-1) and handles SIGCHLD and the
// forwarded signals: it must be the only supervisor in its process, and
// nothing else in the process may start or wait for children while it runs.
func Run(ctx context.Context, cfg Config) (int, error) {
	s, err := newSupervisor(ctx, cfg)
	if err != nil {
		return exitInvalidConfig, err
	}
	log := s.log

	// A subreaper gets the orphans of its descendants even when it is not
	// PID 1 (as under the engine's init, or in tests), so it can reap them
	// and see the whole process group go.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		log.Warn("cannot become a child subreaper; orphans will not be reaped unless this is PID 1", "error", errno)
	}

	signal.Notify(s.osSignals, forwardedSignals...)
	defer signal.Stop(s.osSignals)
	s.reaper.start()
	defer s.reaper.stop()

	if err := s.start(); err != nil {
		code := exitCannotExecute
		var se *startError
		if errors.As(err, &se) {
			code = se.code
		}
		return code, err
	}

	// Serving after the first start means a status never shows a command
	// that is about to start as stopped.
	stopServing := s.serve()
	defer func() {
		close(s.exiting)
		stopServing()
	}()
	return s.loop(), nil
}

func newSupervisor(ctx context.Context, cfg Config) (*supervisor, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Argv) == 0 || cfg.Argv[0] == "" {
		return nil, fmt.Errorf("%w: no command to run: give it after --, as in devd supervise -- node server.js", ErrInvalidConfig)
	}
	if cfg.Service == "" {
		cfg.Service = filepath.Base(cfg.Argv[0])
	}
	stopSig, err := parseSignal(cfg.StopSignal)
	if err != nil {
		return nil, fmt.Errorf("%w: stop signal: %w", ErrInvalidConfig, err)
	}
	ready, err := parseReady(cfg.Ready)
	if err != nil {
		return nil, err
	}
	if err := checkPorts(cfg.Ports); err != nil {
		return nil, err
	}
	files, err := newFileAPI(cfg)
	if err != nil {
		return nil, err
	}
	return &supervisor{
		cfg:       cfg,
		log:       cfg.Logger.With("service", cfg.Service),
		stopSig:   stopSig,
		ready:     ready,
		reaper:    newReaper(),
		tty:       controllingTTY(),
		restarts:  make(chan restartRequest),
		signals:   make(chan signalRequest),
		osSignals: make(chan os.Signal, 8),
		ctxDone:   ctx.Done(),
		exiting:   make(chan struct{}),
		state:     StatusResult{Service: cfg.Service, Files: files != nil, SyncRoots: files.rootList()},
		files:     files,
	}, nil
}

// serve starts the HTTP API on the control sockets and returns the function
// that stops it, after waiting a little for responses being written.
func (s *supervisor) serve() (stop func()) {
	srv := &http.Server{
		Handler: guardPeers(newHandler(s, s.files), uint32(os.Getuid())),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			peer, _ := peerCred(c)
			return withPeer(ctx, peer)
		},
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	var wg sync.WaitGroup
	for _, l := range s.listen() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("control socket failed", "address", l.Addr().String(), "error", err)
			}
		}()
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
		wg.Wait()
	}
}

// loop is the owner goroutine's main loop. It returns the exit code.
func (s *supervisor) loop() int {
	for {
		var exited <-chan struct{}
		if s.child != nil {
			exited = s.child.done
		}
		select {
		case <-exited:
			c := s.child
			st := s.finish(c, exitStatusOf(c.status))
			s.log.Info("command exited", "pid", c.pid, "code", st.Code, "signal", st.Signal)
			return st.Code

		case sig := <-s.osSignals:
			if isShutdownSignal(sig) {
				return s.stopForGood(sig.(syscall.Signal))
			}
			if err := s.forward(sig.(syscall.Signal)); err != nil {
				s.log.Warn("cannot forward signal", "error", err)
			}

		case <-s.ctxDone:
			return s.stopForGood(s.stopSig)

		case req := <-s.restarts:
			s.serveRestart(req)
			if s.shutdown != 0 {
				return s.stopForGood(s.shutdown)
			}

		case req := <-s.signals:
			req.reply <- s.forward(req.sig)
		}
	}
}

// start starts the command and records it as running.
func (s *supervisor) start() error {
	c, err := startChild(s.reaper, s.cfg.Argv, s.ready.pattern)
	if err != nil {
		s.log.Error("cannot start the command", "command", s.cfg.Argv[0], "error", err)
		return err
	}
	if s.tty >= 0 {
		if err := giveTerminal(s.tty, c.pid); err != nil {
			s.log.Warn("cannot give the terminal to the command", "error", err)
		}
	}
	s.child = c
	s.log.Info("command started", "pid", c.pid)

	s.mu.Lock()
	s.state.PID, s.state.Running, s.state.Started = c.pid, true, c.started
	s.mu.Unlock()
	return nil
}

// forward sends sig to the command's process group. A group that is gone
// is not an error.
func (s *supervisor) forward(sig syscall.Signal) error {
	if s.child == nil {
		return nil
	}
	s.log.Debug("forwarding signal", "signal", signalName(sig), "pgid", s.child.pid)
	if err := syscall.Kill(-s.child.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending %s to process group %d: %w", signalName(sig), s.child.pid, err)
	}
	return nil
}

// awaitResult says why await returned.
type awaitResult int

const (
	awaitWakeA awaitResult = iota
	awaitWakeB
	awaitTick
	awaitDeadline
	awaitShutdown
)

// await blocks the owner until wakeA or wakeB is closed, tick or deadline
// fires, or a shutdown is asked for. Meanwhile it forwards signals to the
// command's group and serves signal requests. Nil channels never fire.
//
// The first SIGTERM or SIGINT is not forwarded: the caller either is
// stopping the group already or hands the signal to stopForGood, and a
// second copy makes some servers skip their graceful stop. Later ones are
// forwarded, as someone pressing Ctrl-C again means it.
func (s *supervisor) await(wakeA, wakeB <-chan struct{}, tick, deadline <-chan time.Time) awaitResult {
	for {
		select {
		case <-wakeA:
			return awaitWakeA
		case <-wakeB:
			return awaitWakeB
		case <-tick:
			return awaitTick
		case <-deadline:
			return awaitDeadline
		case sig := <-s.osSignals:
			if isShutdownSignal(sig) && s.shutdown == 0 {
				s.shutdown = sig.(syscall.Signal)
				return awaitShutdown
			}
			_ = s.forward(sig.(syscall.Signal))
		case <-s.ctxDone:
			s.ctxDone = nil
			if s.shutdown == 0 {
				s.shutdown = s.stopSig
				return awaitShutdown
			}
		case req := <-s.signals:
			req.reply <- s.forward(req.sig)
		}
	}
}
