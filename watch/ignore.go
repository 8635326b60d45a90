package watch

import (
	"path/filepath"
	"strings"
)

// DefaultIgnores are the patterns of paths devd never syncs nor reacts to:
// git's metadata folders and the temporary and backup files that editors
// write next to the file they save. Every pattern starts with "**/" so that
// it matches at any depth.
//
// They are meant for places that take only patterns. Code that can call a
// function should use IsDefaultIgnored instead, because it does not depend on
// the order of patterns. For example, after a "!" pattern that contains "**",
// these patterns still match, but Matcher.SkipDir can no longer skip the .git
// folder.
var DefaultIgnores = []string{
	"**/.git",
	"**/*.swp",            // vim swap file
	"**/*.swx",            // vim swap file probe
	"**/*~",               // vim and emacs backup
	"**/4913",             // vim's probe for a writable folder
	"**/*___jb_tmp___",    // JetBrains IDEs' safe write
	"**/*___jb_old___",    // JetBrains IDEs' safe write
	"**/.goutputstream-*", // gedit and other GIO programs
	"**/.#*",              // emacs lock file
	"**/#*#",              // emacs auto-save file
	"**/.DS_Store",        // macOS Finder metadata
}

// IsEditorTemp reports whether the base name of a file is one of the
// temporary or backup files that editors create while saving, as listed in
// DefaultIgnores.
func IsEditorTemp(name string) bool {
	switch {
	case name == "4913":
		return true
	case strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swx"):
		return true
	case strings.HasSuffix(name, "~"):
		return true
	case strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"):
		return true
	case strings.HasPrefix(name, ".goutputstream-"):
		return true
	case strings.HasPrefix(name, ".#"):
		return true
	case len(name) >= 2 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return true
	}
	return false
}

// InGitDir reports whether path is a .git folder or lies inside one.
func InGitDir(path string) bool {
	for _, element := range strings.Split(filepath.ToSlash(path), "/") {
		if element == ".git" {
			return true
		}
	}
	return false
}

// DefaultIgnoredBelow reports whether path, strictly below the folder base,
// is matched by DefaultIgnores relative to base: whether one of its elements
// below base is .git, .DS_Store or an editor's temporary or backup file. It
// returns what a Matcher of DefaultIgnores returns, from Matches and, for a
// folder, from SkipDir. The Matcher evaluates a regular expression per
// pattern for the path and each of its folders, which was devd's largest
// CPU cost in a checkout of thousands of files.
func DefaultIgnoredBelow(base, path string) bool {
	rel, ok := below(base, path)
	if !ok {
		return false
	}
	for rel != "" {
		var element string
		element, rel, _ = strings.Cut(rel, string(filepath.Separator))
		if element == ".git" || element == ".DS_Store" || IsEditorTemp(element) {
			return true
		}
	}
	return false
}

// IsDefaultIgnored reports whether path is matched by DefaultIgnores. Only
// the base name is checked, except for .git, which is found at any level.
func IsDefaultIgnored(path string) bool {
	name := filepath.Base(path)
	return InGitDir(path) || IsEditorTemp(name) || name == ".DS_Store"
}
