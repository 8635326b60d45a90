package plan

import "testing"

func TestGitignoreToDockerignore(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "", false},
		{"# comment", "", false},
		{"*.log", "**/*.log", true},
		{"build/", "**/build/", true},
		{"/dist", "dist", true},
		{"docs/*.md", "docs/*.md", true},
		{"!keep.log", "!**/keep.log", true},
		{"**/tmp", "**/tmp", true},
		{`\#hash`, "**/#hash", true},
	}
	for _, tc := range cases {
		got, ok := gitignoreToDockerignore(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("gitignoreToDockerignore(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
