package watch

import (
	"context"
	"slices"
	"time"
)

// Debounce defaults.
//
// An editor's save is a burst of events that ends within a few
// milliseconds: vim renames, writes, removes its backup and probes with a
// 4913 file, and JetBrains IDEs write a temporary file and rename it. A
// save-all over many files ends within a few tens of milliseconds. The quiet
// period adds its whole length to every save: measured with devd up on the
// example stack (bench/cmd/devd-bench, 40 saves each), the median from save
// to new code was 76 ms at 10 ms, 79 ms at 25 ms, 107 ms at 50 ms and 155 ms
// at 100 ms, and each save still made one batch at 10 ms. With 10 ms, a later
// run met both speed targets (1.17 times nodemon, 17 times faster than
// Compose watch) where 20 ms missed them, again with one batch per save.
// Editors whose saves take longer can raise it with --quiet.
//
// A git checkout or a build writing into a watched folder can keep events
// flowing for seconds with no quiet period. The maximum wait bounds how long
// a change waits before it is acted on. devd copies such batches at once and
// holds their restart until a settled batch comes. So a short maximum wait
// overlaps the copy with the writing, at no extra restart.
const (
	DefaultQuiet   = 10 * time.Millisecond
	DefaultMaxWait = 250 * time.Millisecond
)

// A bulk change (a checkout, a build, a copy of a folder) has pauses longer
// than an editor's quiet period, more so on a loaded machine. Once this many
// paths came without a settled batch, or a batch was flushed at the maximum
// wait, the events count as settled only after bulkQuiet without one. The
// batches in between are flushed unsettled, at the quiet period as usual or
// at the latest bulkInterval after their first path. So a consumer copies
// files while the rest are still being written, instead of after the
// maximum wait.
const (
	bulkPaths    = 50
	bulkQuiet    = 150 * time.Millisecond
	bulkInterval = 50 * time.Millisecond
)

// Batch is a set of changed paths, flushed together.
type Batch struct {
	// Paths are the changed paths, sorted and without duplicates. They are
	// empty in a batch that only signals that the events settled.
	Paths []string
	// First and Last are the times at which the first and the last event of
	// the batch were received.
	First, Last time.Time
	// Settled is true when no event came for the quiet period after the
	// batch's last one. A batch flushed at the maximum wait, while events
	// keep coming, is not settled, and a settled batch, empty when nothing
	// came since, follows once they stop.
	Settled bool
}

// Batcher groups paths into batches. A batch is flushed once no path has
// arrived for the quiet period, or once the maximum wait has passed since
// its first path, whichever comes first. After a batch flushed at the
// maximum wait, a settled batch always follows, so a consumer can hold
// back what should happen once, such as a restart, until then.
//
// A Batcher holds only its configuration, so Run may be called any number
// of times, also concurrently, each call with its own channels.
type Batcher struct {
	quiet   time.Duration
	maxWait time.Duration
	clock   Clock
}

// NewBatcher returns a Batcher. A quiet period or maximum wait of zero or
// less selects DefaultQuiet or DefaultMaxWait. A maximum wait shorter than the
// quiet period is raised to it. A nil clock selects RealClock.
func NewBatcher(quiet, maxWait time.Duration, clock Clock) *Batcher {
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	if maxWait < quiet {
		maxWait = quiet
	}
	if clock == nil {
		clock = RealClock
	}
	return &Batcher{quiet: quiet, maxWait: maxWait, clock: clock}
}

// Run reads paths from in and sends batches to out until ctx is done or in
// is closed. When in is closed, the pending paths are flushed first. When ctx
// is done, they are dropped. Run closes out before it returns. A send on out
// blocks until it is received, and no path is read from in meanwhile.
func (b *Batcher) Run(ctx context.Context, in <-chan string, out chan<- Batch) {
	defer close(out)

	var (
		pending     = make(map[string]struct{})
		first, last time.Time
		timer       Timer
		fire        <-chan time.Time
		// unsettled is true after an unsettled batch, until a settled one
		// is sent.
		unsettled bool
		// streamed counts the paths sent since the last settled batch, and
		// bulk is true once the change counts as a bulk one.
		streamed int
		bulk     bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	send := func(batch Batch) bool {
		select {
		case out <- batch:
			unsettled = !batch.Settled
			streamed += len(batch.Paths)
			if batch.Settled {
				streamed, bulk = 0, false
			}
			return true
		case <-ctx.Done():
			return false
		}
	}
	flush := func(settled bool) bool {
		batch := Batch{Paths: make([]string, 0, len(pending)), First: first, Last: last, Settled: settled}
		for p := range pending {
			batch.Paths = append(batch.Paths, p)
		}
		slices.Sort(batch.Paths)
		clear(pending)
		return send(batch)
	}
	arm := func(wait time.Duration) {
		if timer == nil {
			timer = b.clock.NewTimer(wait)
			fire = timer.C()
		} else {
			timer.Reset(wait)
		}
	}

	for {
		select {
		case <-ctx.Done():
			return

		case p, ok := <-in:
			if !ok {
				switch {
				case len(pending) > 0:
					flush(true)
				case unsettled:
					send(Batch{Settled: true, First: first, Last: last})
				}
				return
			}

			now := b.clock.Now()
			if len(pending) == 0 {
				first = now
			}
			last = now
			pending[p] = struct{}{}

			// One timer serves both limits: it fires at the end of the quiet
			// period, unless the maximum wait ends sooner.
			wait := b.maxWait
			if bulk || streamed+len(pending) >= bulkPaths {
				wait = min(wait, bulkInterval)
			}
			arm(min(b.quiet, first.Add(wait).Sub(now)))

		case <-fire:
			idle := b.clock.Now().Sub(last)
			if idle < b.quiet || streamed+len(pending) >= bulkPaths {
				// Flushed at the maximum wait, or a bulk change.
				bulk = true
			}
			need := b.quiet
			if bulk {
				need = max(b.quiet, bulkQuiet)
			}
			switch {
			case len(pending) > 0:
				settled := idle >= need
				if !flush(settled) {
					return
				}
				if !settled {
					// Look again once the events may have settled, so that
					// the settled batch follows.
					arm(need - idle)
				}
			case unsettled && idle >= need:
				if !send(Batch{Settled: true, First: first, Last: last}) {
					return
				}
			case unsettled:
				arm(need - idle)
			}
		}
	}
}
