package main

import (
	"math"
	"slices"
	"time"
)

// summary describes the latencies of one tool on one service.
type summary struct {
	N      int
	Median time.Duration
	P90    time.Duration
	Min    time.Duration
	Max    time.Duration
}

// summarize returns the summary of xs, or the zero summary when xs is empty.
func summarize(xs []time.Duration) summary {
	if len(xs) == 0 {
		return summary{}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return summary{
		N:      len(sorted),
		Median: percentileSorted(sorted, 50),
		P90:    percentileSorted(sorted, 90),
		Min:    sorted[0],
		Max:    sorted[len(sorted)-1],
	}
}

// median returns the middle value of xs, the mean of the two middle values
// when len(xs) is even, and 0 when xs is empty. xs is not modified.
func median(xs []time.Duration) time.Duration {
	return percentile(xs, 50)
}

// percentile returns the p-th percentile (0 to 100, clamped) of xs by
// linear interpolation between the closest ranks, the definition that
// spreadsheets and NumPy use by default: with n sorted values, it is the
// value at position p/100*(n-1), interpolated. It returns 0 when xs is
// empty. xs is not modified.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return percentileSorted(sorted, p)
}

// percentileSorted is percentile on values already sorted in ascending
// order. sorted must not be empty.
func percentileSorted(sorted []time.Duration, p float64) time.Duration {
	p = min(max(p, 0), 100)
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(pos)
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	// Rounded to the nanosecond, because p/100*(n-1) is rarely exact in binary.
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[lo+1]-sorted[lo])))
}

// ratio returns a/b, or 0 when b is zero.
func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
