package control

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

func TestDropReplayed(t *testing.T) {
	at := func(s int) event.Event {
		return event.Event{Time: time.Unix(int64(s), 0), Type: event.Output, Service: "api", Text: "line"}
	}
	cases := []struct {
		name             string
		history, pending []event.Event
		want             []event.Event
	}{
		{"no history", nil, []event.Event{at(1)}, []event.Event{at(1)}},
		{"no overlap", []event.Event{at(1), at(2)}, []event.Event{at(3)}, []event.Event{at(3)}},
		{"overlap", []event.Event{at(1), at(2), at(3)}, []event.Event{at(2), at(3), at(4)}, []event.Event{at(4)}},
		{"all replayed", []event.Event{at(1), at(2)}, []event.Event{at(2)}, []event.Event{}},
		// The bus kept fewer events than were published between Subscribe
		// and History: the start of pending is no longer in the history.
		{"history wrapped", []event.Event{at(4), at(5)}, []event.Event{at(2), at(3), at(4), at(5), at(6)}, []event.Event{at(6)}},
		{"nothing pending", []event.Event{at(1)}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := dropReplayed(tc.history, tc.pending)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %v, want %v", len(got), got, tc.want)
			}
			for i := range got {
				if !sameEvent(got[i], tc.want[i]) {
					t.Errorf("event %d: %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// racyBus publishes events between a stream's Subscribe and History
// calls, and after History, as other goroutines may.
type racyBus struct {
	*event.Bus
	duringSubscribe []event.Event
	afterHistory    []event.Event
}

func (b *racyBus) Subscribe(buffer int) *event.Subscription {
	sub := b.Bus.Subscribe(buffer)
	for _, e := range b.duringSubscribe {
		b.Publish(e)
	}
	return sub
}

func (b *racyBus) History() []event.Event {
	h := b.Bus.History()
	for _, e := range b.afterHistory {
		b.Publish(e)
	}
	return h
}

func TestStreamSplicesHistory(t *testing.T) {
	numbered := func(from, to int) []event.Event {
		var out []event.Event
		for i := from; i < to; i++ {
			out = append(out, event.Event{Type: event.Output, Service: "api", Files: i})
		}
		return out
	}
	bus := &racyBus{Bus: event.NewBus(100), duringSubscribe: numbered(3, 6), afterHistory: numbered(6, 8)}
	for _, e := range numbered(0, 3) {
		bus.Publish(e)
	}

	var got []int
	emit := func(e event.Event) error {
		got = append(got, e.Files)
		if len(got) == 8 {
			return errStop
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	streamEvents(ctx, bus, eventsFilter{history: true, output: true, follow: true}, emit, hclog.NewNullLogger())

	if len(got) != 8 {
		t.Fatalf("got events %v, want 0 to 7", got)
	}
	for i, n := range got {
		if n != i {
			t.Errorf("event %d carries %d: events lost or repeated around the history", i, n)
		}
	}
}

var errStop = errors.New("stop")

func TestParseEventsQuery(t *testing.T) {
	cases := []struct {
		query   string
		want    eventsFilter
		wantErr string
	}{
		{query: "", want: eventsFilter{follow: true}},
		{query: "history=1&output=true&follow=0", want: eventsFilter{history: true, output: true}},
		{query: "service=api,web", want: eventsFilter{follow: true, services: map[string]bool{"api": true, "web": true}}},
		{query: "service=api&service=web", want: eventsFilter{follow: true, services: map[string]bool{"api": true, "web": true}}},
		{query: "history=yes", wantErr: `invalid history="yes"`},
		{query: "service=", wantErr: "empty name"},
		{query: "since=1", wantErr: `unknown query parameter "since"`},
	}
	for _, tc := range cases {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseEventsQuery(q)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if got.history != tc.want.history || got.output != tc.want.output || got.follow != tc.want.follow ||
			strings.Join(got.serviceList(), ",") != strings.Join(tc.want.serviceList(), ",") {
			t.Errorf("%q: got %+v, want %+v", tc.query, got, tc.want)
		}
	}
}
