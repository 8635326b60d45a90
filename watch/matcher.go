package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Matcher decides whether host paths are excluded by .dockerignore
// patterns, with the semantics of the Docker engine's own matcher. The last
// matching pattern wins, and a pattern that starts with "!" re-includes what
// an earlier pattern excluded. A path is excluded when one of its parent
// folders is.
//
// A nil *Matcher matches nothing. A Matcher is safe for concurrent use.
type Matcher struct {
	base string

	// mu guards pm and reincludes, because patternmatcher compiles each
	// pattern on first use and is not safe for concurrent calls.
	mu         sync.Mutex
	pm         *patternmatcher.PatternMatcher
	reincludes [][]patternSegment // the "!" patterns, split at "/"
}

// patternSegment is one path element of a "!" pattern.
type patternSegment struct {
	// anything is set for a segment containing "**" or a bracket
	// expression, which can match any number of path elements.
	anything bool
	pm       *patternmatcher.PatternMatcher
}

// NewMatcher returns a Matcher for patterns relative to the absolute folder
// base, such as the lines of a .dockerignore file. Patterns are normalized as
// Docker reads ignore files: surrounding spaces and a leading "/" are removed,
// and empty patterns are ignored. An invalid pattern is an error that names
// it.
func NewMatcher(base string, patterns []string) (*Matcher, error) {
	if !filepath.IsAbs(base) {
		return nil, fmt.Errorf("creating ignore matcher: base folder %q is not an absolute path", base)
	}

	normalized := make([]string, 0, len(patterns))
	for _, p := range patterns {
		n := normalizePattern(p)
		if n == "" {
			continue
		}
		if err := checkPattern(n); err != nil {
			return nil, fmt.Errorf("parsing ignore pattern %q: %w", p, err)
		}
		normalized = append(normalized, n)
	}

	pm, err := patternmatcher.New(normalized)
	if err != nil {
		return nil, fmt.Errorf("parsing ignore patterns: %w", err)
	}

	m := &Matcher{base: filepath.Clean(base), pm: pm}
	for _, p := range pm.Patterns() {
		if p.Exclusion() {
			m.reincludes = append(m.reincludes, splitPattern(p.String()))
		}
	}
	return m, nil
}

// Matches reports whether absPath is excluded by the patterns. A path
// outside the base folder, and the base folder itself, never match.
func (m *Matcher) Matches(absPath string) bool {
	rel, ok := m.relative(absPath)
	if !ok {
		return false
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	return m.matchesLocked(rel)
}

// SkipDir reports whether nothing under the folder absDir can be included,
// so that a walker or watcher may skip the whole folder. It is true only when
// the folder matches and no "!" pattern could re-include a path under it. A
// "!" pattern that contains "**", or a bracket expression (which may match
// "/"), is assumed to re-include something anywhere, so with such a pattern
// no matching folder is skipped.
func (m *Matcher) SkipDir(absDir string) bool {
	rel, ok := m.relative(absDir)
	if !ok {
		return false
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	if !m.matchesLocked(rel) {
		return false
	}
	elements := strings.Split(rel, string(filepath.Separator))
	for _, segments := range m.reincludes {
		if mayMatchUnder(segments, elements) {
			return false
		}
	}
	return true
}

// Skip reports whether the watcher should leave path out, in the form of
// Config.Skip: folders are left out when SkipDir is true, other paths when
// Matches is true.
func (m *Matcher) Skip(path string, isDir bool) bool {
	if isDir {
		return m.SkipDir(path)
	}
	return m.Matches(path)
}

func (m *Matcher) matchesLocked(rel string) bool {
	matched, err := m.pm.MatchesOrParentMatches(rel)
	// checkPattern compiled each pattern when NewMatcher ran, so the errors
	// patternmatcher returns for invalid patterns cannot occur here.
	return err == nil && matched
}

// relative returns p relative to the base folder, or false when p is not
// strictly inside it.
func (m *Matcher) relative(p string) (string, bool) {
	if m == nil {
		return "", false
	}
	return below(m.base, p)
}

// below returns p relative to the folder base, or false when p is not
// strictly inside it.
func below(base, p string) (string, bool) {
	// Paths from the watcher are clean, and Rel cleans both of its
	// arguments again. That cleaning was a large part of the matching cost
	// in a checkout of thousands of files.
	if rest, ok := strings.CutPrefix(p, base+string(filepath.Separator)); ok && rest != "" && isCleanRelative(rest) {
		return rest, true
	}
	rel, err := filepath.Rel(base, filepath.Clean(p))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// isCleanRelative reports whether rel is a relative path that filepath.Clean
// leaves as it is and that does not climb out with "..".
func isCleanRelative(rel string) bool {
	for {
		element, rest, found := strings.Cut(rel, string(filepath.Separator))
		if element == "" || element == "." || element == ".." {
			return false
		}
		if !found {
			return true
		}
		rel = rest
	}
}

// ReadIgnoreFile reads the patterns of a .dockerignore file. A missing file
// returns no patterns and no error.
func ReadIgnoreFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ignore file: %w", err)
	}
	defer f.Close()

	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading ignore file %s: %w", path, err)
	}
	return patterns, nil
}

// normalizePattern applies the rules of ignorefile.ReadAll to one pattern,
// so that patterns from other sources, such as Compose's develop.watch
// ignore list, behave like lines of a .dockerignore file.
func normalizePattern(p string) string {
	p = strings.TrimSpace(p)
	exclusion := strings.HasPrefix(p, "!")
	if exclusion {
		p = strings.TrimSpace(p[1:])
	}
	if p != "" {
		p = filepath.ToSlash(filepath.Clean(p))
		if len(p) > 1 && p[0] == '/' {
			p = p[1:]
		}
	}
	if exclusion {
		return "!" + p
	}
	return p
}

// CheckPattern reports whether NewMatcher accepts the pattern p, normalized
// as NewMatcher normalizes it, so that configuration can be checked before
// anything is watched. An empty pattern is accepted: NewMatcher skips it.
func CheckPattern(p string) error {
	n := normalizePattern(p)
	if n == "" {
		return nil
	}
	return checkPattern(n)
}

// checkPattern compiles one pattern and matches it once, because
// patternmatcher.New checks only part of the syntax and compiles the rest on
// first use.
func checkPattern(p string) error {
	body := strings.TrimPrefix(p, "!")
	if body == "" {
		return errors.New("\"!\" must be followed by a pattern")
	}
	pm, err := patternmatcher.New([]string{body})
	if err != nil {
		return err
	}
	_, err = pm.MatchesOrParentMatches("x")
	return err
}

// splitPattern splits a cleaned pattern into per-element matchers.
func splitPattern(p string) []patternSegment {
	parts := strings.Split(p, string(filepath.Separator))
	segments := make([]patternSegment, len(parts))
	for i, part := range parts {
		// A bracket expression may match "/" ("[^x]", "[.-0]"), so such a
		// segment may span several path elements, as "**" does.
		if strings.Contains(part, "**") || strings.Contains(part, "[") {
			segments[i].anything = true
			continue
		}

		// A leading "!" inside a pattern is a literal character, but
		// patternmatcher.New would read it as an exclusion: escape it.
		if strings.HasPrefix(part, "!") {
			part = `\` + part
		}
		pm, err := patternmatcher.New([]string{part})
		if err == nil {
			_, err = pm.MatchesOrParentMatches("x")
		}
		if err != nil {
			// Assume the worst of a segment that cannot be compiled.
			segments[i].anything = true
			continue
		}
		segments[i].pm = pm
	}
	return segments
}

// mayMatchUnder reports whether a pattern could match the folder made of
// elements, one of its parents, or a path under it. Each of those makes a
// "!" pattern re-include something inside the folder.
func mayMatchUnder(segments []patternSegment, elements []string) bool {
	for i, element := range elements {
		if i >= len(segments) {
			// The pattern matched a parent of the folder.
			return true
		}
		s := segments[i]
		if s.anything {
			return true
		}
		if ok, err := s.pm.MatchesOrParentMatches(element); err == nil && !ok {
			return false
		}
	}
	return true
}
