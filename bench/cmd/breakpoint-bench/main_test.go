package main

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range xs {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	for _, tc := range []struct {
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{ms(3, 1, 2), 50, 2 * time.Millisecond},
		{ms(4, 1, 3, 2), 50, 2500 * time.Microsecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{ms(5), 90, 5 * time.Millisecond},
		{nil, 50, 0},
	} {
		if got := percentile(tc.xs, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
		}
	}
}

func TestBreakLineInHandlers(t *testing.T) {
	for name, src := range map[string]string{"node": nodeHandlerSource("x"), "go": goHandlerSource("x")} {
		line, err := breakLine(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if other, _ := breakLine(map[string]string{"node": nodeHandlerSource("another token"), "go": goHandlerSource("another token")}[name]); other != line {
			t.Errorf("%s: the breakpoint line moves with the token: %d, then %d", name, line, other)
		}
	}
}
