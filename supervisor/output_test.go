package supervisor

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestLineMatcher(t *testing.T) {
	cases := []struct {
		name   string
		writes []string
		match  bool
	}{
		{name: "whole line", writes: []string{"starting\nlistening on 3000\n"}, match: true},
		{name: "line split across writes", writes: []string{"listen", "ing on 3", "000\r\n"}, match: true},
		{name: "incomplete line", writes: []string{"listening on 3000"}, match: false},
		{name: "anchored pattern inside a line", writes: []string{"not listening on 3000\n"}, match: false},
		{name: "line past the length limit", writes: []string{strings.Repeat("x", maxLineLength) + "listening on 3000\n", "listening on 3000\n"}, match: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newLineMatcher(regexp.MustCompile(`^listening on [0-9]+$`))
			var out bytes.Buffer
			w := m.writer(&out)
			for _, s := range tc.writes {
				if _, err := w.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			if got := out.String(); got != strings.Join(tc.writes, "") {
				t.Fatalf("passed through %q", got)
			}
			select {
			case <-m.matched:
				if !tc.match {
					t.Fatal("matched")
				}
			default:
				if tc.match {
					t.Fatal("did not match")
				}
			}
		})
	}
}
