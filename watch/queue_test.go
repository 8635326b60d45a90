package watch

import (
	"slices"
	"testing"
)

func TestPathQueueOrderAndDedup(t *testing.T) {
	var q pathQueue
	for _, p := range []string{"/b", "/a", "/b", "/c", "/a"} {
		q.push(p)
	}

	var got []string
	for {
		p, ok := q.peek()
		if !ok {
			break
		}
		got = append(got, p)
		q.pop()
	}
	if want := []string{"/b", "/a", "/c"}; !slices.Equal(got, want) {
		t.Errorf("queue order = %q, want %q", got, want)
	}

	// A path taken off the queue can be queued again.
	q.push("/b")
	if p, ok := q.peek(); !ok || p != "/b" {
		t.Errorf("peek after requeue = %q, %v, want /b, true", p, ok)
	}
}
