package main

import (
	"testing"
	"time"
)

func ms(vs ...float64) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v * float64(time.Millisecond))
	}
	return out
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"empty", nil, 0},
		{"one value", ms(7), 7 * time.Millisecond},
		{"odd count, unsorted", ms(9, 1, 5), 5 * time.Millisecond},
		{"even count takes the mean of the middle two", ms(4, 1, 3, 2), 2500 * time.Microsecond},
		{"repeated values", ms(2, 2, 2, 9), 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ten := ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 90, 0},
		{"p0 is the minimum", ten, 0, 10 * time.Millisecond},
		{"p100 is the maximum", ten, 100, 100 * time.Millisecond},
		{"p90 of ten values interpolates between the 9th and 10th", ten, 90, 91 * time.Millisecond},
		{"p50 of ten values", ten, 50, 55 * time.Millisecond},
		{"p90 of one value", ms(3), 90, 3 * time.Millisecond},
		{"p below 0 is clamped", ten, -5, 10 * time.Millisecond},
		{"p above 100 is clamped", ten, 150, 100 * time.Millisecond},
		{"order of input does not matter", ms(100, 10, 90, 20, 80, 30, 70, 40, 60, 50), 90, 91 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
			}
		})
	}
}

func TestPercentileDoesNotModifyInput(t *testing.T) {
	in := ms(3, 1, 2)
	_ = percentile(in, 50)
	if in[0] != 3*time.Millisecond || in[1] != time.Millisecond || in[2] != 2*time.Millisecond {
		t.Errorf("percentile reordered its input: %v", in)
	}
}

func TestSummarize(t *testing.T) {
	got := summarize(ms(50, 10, 40, 20, 30))
	want := summary{
		N:      5,
		Median: 30 * time.Millisecond,
		P90:    46 * time.Millisecond,
		Min:    10 * time.Millisecond,
		Max:    50 * time.Millisecond,
	}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if empty := summarize(nil); empty != (summary{}) {
		t.Errorf("summarize(nil) = %+v, want the zero summary", empty)
	}
}

func TestRatio(t *testing.T) {
	if got := ratio(3*time.Second, time.Second); got != 3 {
		t.Errorf("ratio(3s, 1s) = %v, want 3", got)
	}
	if got := ratio(time.Second, 0); got != 0 {
		t.Errorf("ratio(1s, 0) = %v, want 0", got)
	}
}
