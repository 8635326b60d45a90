package watch_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/devdtool/devd/watch"
	"github.com/devdtool/devd/watch/watchtest"
)

// testWait bounds every wait on another goroutine in these tests. It only
// matters when a test fails.
const testWait = 5 * time.Second

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// batcherRun runs a Batcher on a fake clock and gives the test its ends.
type batcherRun struct {
	t     *testing.T
	clock *watchtest.Clock
	in    chan string
	out   chan watch.Batch
	done  chan struct{}
	arms  int
}

func startBatcher(t *testing.T, quiet, maxWait time.Duration) (*batcherRun, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &batcherRun{
		t:     t,
		clock: watchtest.NewClock(t0),
		in:    make(chan string),
		out:   make(chan watch.Batch),
		done:  make(chan struct{}),
	}
	b := watch.NewBatcher(quiet, maxWait, r.clock)
	go func() {
		defer close(r.done)
		b.Run(ctx, r.in, r.out)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r, cancel
}

// send hands path to the Batcher and waits until it has armed its timer for
// it, so that a following Advance acts on the new schedule.
func (r *batcherRun) send(path string) {
	r.t.Helper()
	select {
	case r.in <- path:
	case <-time.After(testWait):
		r.t.Fatalf("Batcher did not receive %q", path)
	}

	r.arms++
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := r.clock.WaitArms(ctx, r.arms); err != nil {
		r.t.Fatal(err)
	}
}

// advance moves the clock and checks how many timers fired. No firing means
// the Batcher cannot have flushed.
func (r *batcherRun) advance(d time.Duration, wantFired int) {
	r.t.Helper()
	if fired := r.clock.Advance(d); fired != wantFired {
		r.t.Fatalf("advancing the clock by %v fired %d timers, want %d", d, fired, wantFired)
	}
}

func (r *batcherRun) receive() watch.Batch {
	r.t.Helper()
	select {
	case b, ok := <-r.out:
		if !ok {
			r.t.Fatal("Batcher closed its output instead of sending a batch")
		}
		return b
	case <-time.After(testWait):
		r.t.Fatal("no batch was sent")
	}
	return watch.Batch{}
}

func (r *batcherRun) expectClosed() {
	r.t.Helper()
	select {
	case b, ok := <-r.out:
		if ok {
			r.t.Fatalf("Batcher sent %+v, want its output closed", b)
		}
	case <-time.After(testWait):
		r.t.Fatal("Batcher did not close its output")
	}
}

func checkBatch(t *testing.T, got watch.Batch, paths []string, first, last time.Time) {
	t.Helper()
	if !slices.Equal(got.Paths, paths) {
		t.Errorf("batch paths = %q, want %q", got.Paths, paths)
	}
	if !got.First.Equal(first) {
		t.Errorf("batch first event at %v, want %v", got.First.Sub(t0), first.Sub(t0))
	}
	if !got.Last.Equal(last) {
		t.Errorf("batch last event at %v, want %v", got.Last.Sub(t0), last.Sub(t0))
	}
}

func TestBatcherQuietPeriod(t *testing.T) {
	r, _ := startBatcher(t, 50*time.Millisecond, time.Second)

	r.send("/p/a")
	r.advance(49*time.Millisecond, 0)
	r.advance(1*time.Millisecond, 1)

	checkBatch(t, r.receive(), []string{"/p/a"}, t0, t0)
}

func TestBatcherQuietResetsOnEvent(t *testing.T) {
	r, _ := startBatcher(t, 50*time.Millisecond, time.Second)

	r.send("/p/b")
	r.advance(40*time.Millisecond, 0)
	r.send("/p/a")
	// 80 ms after the first event, but only 40 ms after the last one.
	r.advance(40*time.Millisecond, 0)
	r.advance(10*time.Millisecond, 1)

	checkBatch(t, r.receive(), []string{"/p/a", "/p/b"}, t0, t0.Add(40*time.Millisecond))
}

func TestBatcherMaxWait(t *testing.T) {
	r, _ := startBatcher(t, 50*time.Millisecond, time.Second)

	// An event every 40 ms never leaves a quiet period of 50 ms.
	elapsed := time.Duration(0)
	for elapsed < 960*time.Millisecond {
		r.send("/p/busy")
		r.advance(40*time.Millisecond, 0)
		elapsed += 40 * time.Millisecond
	}
	r.send("/p/last")
	// The quiet period would end at 1010 ms, the maximum wait ends at 1000 ms.
	r.advance(39*time.Millisecond, 0)
	r.advance(1*time.Millisecond, 1)

	checkBatch(t, r.receive(), []string{"/p/busy", "/p/last"}, t0, t0.Add(960*time.Millisecond))
}

func TestBatcherDedupAndSort(t *testing.T) {
	r, _ := startBatcher(t, 50*time.Millisecond, time.Second)

	for _, p := range []string{"/p/c", "/p/a", "/p/c", "/p/b", "/p/a"} {
		r.send(p)
	}
	r.advance(50*time.Millisecond, 1)

	checkBatch(t, r.receive(), []string{"/p/a", "/p/b", "/p/c"}, t0, t0)
}

func TestBatcherNextBatchStartsAfresh(t *testing.T) {
	r, _ := startBatcher(t, 50*time.Millisecond, time.Second)

	r.send("/p/a")
	r.advance(50*time.Millisecond, 1)
	checkBatch(t, r.receive(), []string{"/p/a"}, t0, t0)

	r.advance(500*time.Millisecond, 0)
	r.send("/p/b")
	r.advance(50*time.Millisecond, 1)
	start := t0.Add(550 * time.Millisecond)
	checkBatch(t, r.receive(), []string{"/p/b"}, start, start)
}

func TestBatcherFlushOnClose(t *testing.T) {
	r, _ := startBatcher(t, 50*time.Millisecond, time.Second)

	r.send("/p/b")
	r.send("/p/a")
	close(r.in)

	checkBatch(t, r.receive(), []string{"/p/a", "/p/b"}, t0, t0)
	r.expectClosed()
}

func TestBatcherCloseWithNothingPending(t *testing.T) {
	r, _ := startBatcher(t, 50*time.Millisecond, time.Second)

	close(r.in)
	r.expectClosed()
}

func TestBatcherCancelDropsPending(t *testing.T) {
	r, cancel := startBatcher(t, 50*time.Millisecond, time.Second)

	r.send("/p/a")
	cancel()
	r.expectClosed()
}

func TestBatcherRealClock(t *testing.T) {
	in := make(chan string)
	out := make(chan watch.Batch)
	b := watch.NewBatcher(time.Millisecond, 10*time.Millisecond, nil)
	go b.Run(context.Background(), in, out)

	in <- "/p/x"
	select {
	case batch := <-out:
		if !slices.Equal(batch.Paths, []string{"/p/x"}) {
			t.Errorf("batch paths = %q, want [/p/x]", batch.Paths)
		}
	case <-time.After(testWait):
		t.Fatal("no batch was sent with the real clock")
	}

	close(in)
	if _, ok := <-out; ok {
		t.Error("Batcher sent a batch after its input closed with nothing pending")
	}
}

func TestBatcherDefaults(t *testing.T) {
	r, _ := startBatcher(t, 0, 0)

	r.send("/p/a")
	r.advance(watch.DefaultQuiet-time.Millisecond, 0)
	r.advance(time.Millisecond, 1)
	checkBatch(t, r.receive(), []string{"/p/a"}, t0, t0)
}

func TestBatcherMaxWaitBelowQuiet(t *testing.T) {
	// A maximum wait shorter than the quiet period is raised to it.
	r, _ := startBatcher(t, 50*time.Millisecond, 10*time.Millisecond)

	r.send("/p/a")
	r.advance(49*time.Millisecond, 0)
	r.advance(time.Millisecond, 1)
	checkBatch(t, r.receive(), []string{"/p/a"}, t0, t0)
}

// waitArm waits until the Batcher armed its timer once more on its own, as
// it does after a batch flushed at the maximum wait.
func (r *batcherRun) waitArm() {
	r.t.Helper()
	r.arms++
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := r.clock.WaitArms(ctx, r.arms); err != nil {
		r.t.Fatal(err)
	}
}

func TestBatcherSettled(t *testing.T) {
	t.Run("quiet batch", func(t *testing.T) {
		r, _ := startBatcher(t, 50*time.Millisecond, time.Second)
		r.send("/p/a")
		r.advance(50*time.Millisecond, 1)
		if b := r.receive(); !b.Settled {
			t.Error("a batch flushed after the quiet period is not settled")
		}
	})

	t.Run("empty settled batch after the maximum wait", func(t *testing.T) {
		r, _ := startBatcher(t, 50*time.Millisecond, 200*time.Millisecond)
		for range 4 {
			r.send("/p/busy")
			r.advance(40*time.Millisecond, 0)
		}
		// The quiet period would end at 210 ms, the maximum wait ends at 200 ms.
		r.send("/p/last")
		r.advance(40*time.Millisecond, 1)
		b := r.receive()
		checkBatch(t, b, []string{"/p/busy", "/p/last"}, t0, t0.Add(160*time.Millisecond))
		if b.Settled {
			t.Error("a batch flushed at the maximum wait is settled")
		}

		// Settled 150 ms (bulkQuiet) after the last event, at 310 ms.
		r.waitArm()
		r.advance(109*time.Millisecond, 0)
		r.advance(time.Millisecond, 1)
		if b := r.receive(); !b.Settled || len(b.Paths) != 0 {
			t.Errorf("after the events stopped: %+v, want an empty settled batch", b)
		}
	})

	t.Run("settled batch with the last paths", func(t *testing.T) {
		r, _ := startBatcher(t, 50*time.Millisecond, 100*time.Millisecond)
		r.send("/p/a")
		r.advance(40*time.Millisecond, 0)
		r.send("/p/b")
		r.advance(40*time.Millisecond, 0)
		r.send("/p/c")
		r.advance(20*time.Millisecond, 1)
		if b := r.receive(); b.Settled {
			t.Errorf("batch %q at the maximum wait is settled", b.Paths)
		}
		r.waitArm()
		// Within bulkQuiet of the stream, a quiet period flushes unsettled.
		r.send("/p/d")
		r.advance(50*time.Millisecond, 1)
		b := r.receive()
		if b.Settled || !slices.Equal(b.Paths, []string{"/p/d"}) {
			t.Errorf("quiet period within a bulk change: %+v, want an unsettled batch of /p/d", b)
		}
		r.waitArm()
		r.advance(99*time.Millisecond, 0)
		r.advance(time.Millisecond, 1)
		if b := r.receive(); !b.Settled || len(b.Paths) != 0 {
			t.Errorf("after the events stopped: %+v, want an empty settled batch", b)
		}
	})

	t.Run("bulk burst", func(t *testing.T) {
		r, _ := startBatcher(t, 20*time.Millisecond, time.Second)
		for i := range 60 {
			r.send(fmt.Sprintf("/p/f%02d", i))
		}
		r.advance(20*time.Millisecond, 1)
		if b := r.receive(); b.Settled || len(b.Paths) != 60 {
			t.Errorf("60 paths after the quiet period: settled %v with %d paths, want unsettled with 60", b.Settled, len(b.Paths))
		}
		r.waitArm()
		r.advance(129*time.Millisecond, 0)
		r.advance(time.Millisecond, 1)
		if b := r.receive(); !b.Settled || len(b.Paths) != 0 {
			t.Errorf("after a bulk change: %+v, want an empty settled batch", b)
		}

		// The next small save counts afresh.
		r.send("/p/save")
		r.advance(20*time.Millisecond, 1)
		if b := r.receive(); !b.Settled {
			t.Error("a small save after a bulk change is not settled at the quiet period")
		}
	})

	t.Run("bulk stream flushed at the bulk interval", func(t *testing.T) {
		r, _ := startBatcher(t, 20*time.Millisecond, time.Second)
		for i := range 60 {
			r.send(fmt.Sprintf("/p/f%02d", i))
		}
		// A path every 10 ms keeps the quiet period from ending, so only
		// the bulk interval, 50 ms after the first path, flushes.
		for i := range 4 {
			r.advance(10*time.Millisecond, 0)
			r.send(fmt.Sprintf("/p/g%d", i))
		}
		r.advance(10*time.Millisecond, 1)
		b := r.receive()
		if b.Settled || len(b.Paths) != 64 {
			t.Errorf("bulk stream at 50 ms: settled %v with %d paths, want unsettled with 64", b.Settled, len(b.Paths))
		}
		if !b.First.Equal(t0) || !b.Last.Equal(t0.Add(40*time.Millisecond)) {
			t.Errorf("bulk stream batch from %v to %v, want 0s to 40ms", b.First.Sub(t0), b.Last.Sub(t0))
		}
	})

	t.Run("close after the maximum wait", func(t *testing.T) {
		r, _ := startBatcher(t, 50*time.Millisecond, 100*time.Millisecond)
		r.send("/p/a")
		r.advance(40*time.Millisecond, 0)
		r.send("/p/b")
		r.advance(40*time.Millisecond, 0)
		r.send("/p/c")
		r.advance(20*time.Millisecond, 1)
		if b := r.receive(); b.Settled {
			t.Error("a batch flushed at the maximum wait is settled")
		}
		r.waitArm()
		close(r.in)
		if b := r.receive(); !b.Settled || len(b.Paths) != 0 {
			t.Errorf("on close: %+v, want an empty settled batch", b)
		}
		r.expectClosed()
	})
}
