// Package watchtest provides test doubles for the watch package.
package watchtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/devdtool/devd/watch"
)

// Clock is a watch.Clock whose time moves only when Advance is called. Its
// timers fire during Advance, in deadline order. A Clock is safe for
// concurrent use.
//
// Because the code under test usually runs in another goroutine, a test
// cannot know when that code has armed a timer. Clock counts every NewTimer
// and Reset call ("arms") so that a test can wait for them with WaitArms
// before it calls Advance.
type Clock struct {
	mu     sync.Mutex
	now    time.Time     // guarded by mu
	timers []*Timer      // every timer created, guarded by mu
	arms   int           // guarded by mu
	armed  chan struct{} // closed and replaced on each arm, guarded by mu
}

var _ watch.Clock = (*Clock)(nil)

// NewClock returns a Clock that reads start until it is advanced.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, armed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a Timer that fires when the clock reaches Now()+d. A
// duration of zero or less fires at once.
func (c *Clock) NewTimer(d time.Duration) watch.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()

	t := &Timer{clock: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.arm(t, d)
	return t
}

// Advance moves the clock forward by d, fires every timer whose deadline is
// reached, and returns how many fired.
func (c *Clock) Advance(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()

	target := c.now.Add(d)
	fired := 0
	for {
		next := c.nextDue(target)
		if next == nil {
			break
		}
		c.now = next.when
		c.fire(next)
		fired++
	}
	c.now = target
	return fired
}

// Arms returns how many times a timer was armed by NewTimer or Reset.
func (c *Clock) Arms() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arms
}

// WaitArms blocks until timers were armed at least n times in total, or
// until ctx is done.
func (c *Clock) WaitArms(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		arms, armed := c.arms, c.armed
		c.mu.Unlock()
		if arms >= n {
			return nil
		}

		select {
		case <-armed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d timer arms, got %d: %w", n, arms, ctx.Err())
		}
	}
}

// nextDue returns the active timer with the earliest deadline at or before
// target, or nil.
func (c *Clock) nextDue(target time.Time) *Timer {
	var next *Timer
	for _, t := range c.timers {
		if !t.active || t.when.After(target) {
			continue
		}
		if next == nil || t.when.Before(next.when) {
			next = t
		}
	}
	return next
}

// arm schedules t and records the arm. The caller holds c.mu.
func (c *Clock) arm(t *Timer, d time.Duration) {
	drain(t.ch)
	t.when = c.now.Add(d)
	t.active = true
	c.arms++
	close(c.armed)
	c.armed = make(chan struct{})

	if d <= 0 {
		c.fire(t)
	}
}

// fire delivers the current time on t's channel. The caller holds c.mu.
func (c *Clock) fire(t *Timer) {
	t.active = false
	select {
	case t.ch <- c.now:
	default:
		// The previous value was not received yet: like a *time.Timer, the
		// channel holds at most one value.
	}
}

// Timer is the watch.Timer returned by Clock.NewTimer.
type Timer struct {
	clock  *Clock
	ch     chan time.Time
	when   time.Time // guarded by clock.mu
	active bool      // guarded by clock.mu
}

var _ watch.Timer = (*Timer)(nil)

// C returns the channel on which the timer delivers the time it fired.
func (t *Timer) C() <-chan time.Time { return t.ch }

// Stop stops the timer and drops an undelivered value. It returns true if
// the timer was active.
func (t *Timer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()

	wasActive := t.active
	t.active = false
	drain(t.ch)
	return wasActive
}

// Reset schedules the timer to fire after d and counts as an arm. It
// returns true if the timer was active.
func (t *Timer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()

	wasActive := t.active
	t.clock.arm(t, d)
	return wasActive
}

func drain(ch chan time.Time) {
	select {
	case <-ch:
	default:
	}
}
