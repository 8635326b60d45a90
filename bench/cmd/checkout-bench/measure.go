package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Timings of the measurement itself.
const (
	// httpInterval is the pause between two requests to the service.
	httpInterval = 20 * time.Millisecond
	// httpTimeout bounds one request: a request to a published port can
	// hang while the container restarts.
	httpTimeout = 500 * time.Millisecond
	// quietPeriod is the time the same process must respond with the
	// branch's message, with the files still matching, before the next
	// checkout, so that restarts of one checkout do not overlap the next.
	quietPeriod = 1500 * time.Millisecond
	// digestSamples is how many digests are read to time one read.
	digestSamples = 5
)

// sample is one measured checkout.
type sample struct {
	branch    string
	checkout  time.Duration // git checkout itself
	converged time.Duration // from the start of the checkout to equal files
	served    time.Duration // from the start of the checkout to the branch's message
	failed    string        // reason the checkout was not measured, or ""
}

// measureTool runs a tool on the stack, lets it settle, and checks the
// branches out 2*o.rounds times, alternating.
func measureTool(ctx context.Context, s *stack, tool string, o options) ([]sample, error) {
	progress(o, "starting %s", tool)
	p, err := startTool(s, tool, o)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if tool == toolDevdUp {
		// The next tool gets the stack as docker compose up starts it.
		defer func() {
			p.stop()
			if err := s.up(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "checkout-bench: starting the stack again after devd up:", err)
			}
		}()
	}
	if err := p.waitReady(ctx); err != nil {
		return nil, err
	}
	// devd up recreates the container, so its id is read once the tool runs.
	id, err := s.containerID(ctx)
	if err != nil {
		return nil, err
	}
	if err := waitQuiet(ctx, s, id, s.branch, o.timeout); err != nil {
		return nil, fmt.Errorf("waiting for the container to match branch %s before the first checkout: %w", s.branch, err)
	}

	var samples []sample
	for i := 0; i < 2*o.rounds; i++ {
		target := branchBig
		if s.branch == branchBig {
			target = branchBase
		}
		smp, err := checkoutOnce(ctx, s, id, target, o)
		if err != nil {
			return samples, err
		}
		samples = append(samples, smp)
		if smp.failed != "" {
			progress(o, "%s: checkout of %s failed: %s", tool, target, smp.failed)
			continue
		}
		progress(o, "%s: checkout of %s: git %s, files equal after %s, new message after %s", tool, target,
			smp.checkout.Round(time.Millisecond), smp.converged.Round(time.Millisecond), smp.served.Round(time.Millisecond))
	}
	return samples, nil
}

// checkoutOnce checks out target and measures until the container has its
// files and the service its message, then waits for quiet.
func checkoutOnce(ctx context.Context, s *stack, id, target string, o options) (sample, error) {
	smp := sample{branch: target}
	want := s.digests[target]
	msg := messageOf(target)

	start := time.Now()
	if _, err := s.git(ctx, "checkout", "-q", target); err != nil {
		return smp, err
	}
	smp.checkout = time.Since(start)
	s.branch = target

	mctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	served := make(chan time.Duration, 1)
	go func() { served <- waitMessage(mctx, s.url(), msg, start) }()

	tick := time.NewTicker(o.poll)
	defer tick.Stop()
	for smp.converged == 0 {
		if got, err := s.files.digest(mctx, id); err == nil && got == want {
			smp.converged = time.Since(start)
			break
		}
		select {
		case <-mctx.Done():
			if ctx.Err() != nil {
				return smp, ctx.Err()
			}
			smp.failed = fmt.Sprintf("the container's files did not match within %s", o.timeout)
		case <-tick.C:
		}
		if smp.failed != "" {
			break
		}
	}
	smp.served = <-served
	if smp.failed == "" && smp.served == 0 {
		smp.failed = fmt.Sprintf("the service did not respond with %q within %s", msg, o.timeout)
	}
	if ctx.Err() != nil {
		return smp, ctx.Err()
	}
	if err := waitQuiet(ctx, s, id, target, o.timeout); err != nil && smp.failed == "" {
		smp.failed = err.Error()
	}
	return smp, nil
}

func messageOf(branch string) string {
	if branch == branchBig {
		return bigMessage
	}
	return baseMessage
}

// response is the part of notification's GET / response body that the benchmark reads.
type response struct {
	Message  string `json:"message"`
	Instance string `json:"instance"`
}

var client = &http.Client{Timeout: httpTimeout}

func get(ctx context.Context, url string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	var a response
	if err := json.Unmarshal(body, &a); err != nil {
		return response{}, fmt.Errorf("decoding the response %q: %w", body, err)
	}
	return a, nil
}

// waitMessage returns the time from start to the first response carrying
// msg, or 0 when ctx ends first.
func waitMessage(ctx context.Context, url, msg string, start time.Time) time.Duration {
	for {
		if a, err := get(ctx, url); err == nil && a.Message == msg {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(httpInterval):
		}
	}
}

// waitQuiet waits until one process has responded with the branch's message
// for quietPeriod and the container's files match the branch.
func waitQuiet(ctx context.Context, s *stack, id, branch string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg := messageOf(branch)
	var instance string
	var since time.Time
	for {
		a, err := get(ctx, s.url())
		switch {
		case err != nil || a.Message != msg:
			instance = ""
		case a.Instance != instance:
			instance, since = a.Instance, time.Now()
		case time.Since(since) >= quietPeriod:
			got, err := s.files.digest(ctx, id)
			if err == nil && got == s.digests[branch] {
				return nil
			}
			instance = ""
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("no quiet period of %s with the files and message of branch %s within %s", quietPeriod, branch, timeout)
			}
			return ctx.Err()
		case <-time.After(httpInterval):
		}
	}
}

// digestCost reads the container's digest a few times and returns the
// median duration of one read: with the poll interval, it bounds how late
// a convergence is seen.
func digestCost(ctx context.Context, files *reader, id string) (time.Duration, error) {
	var ds []time.Duration
	for range digestSamples {
		start := time.Now()
		if _, err := files.digest(ctx, id); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}
