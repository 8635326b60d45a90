package compose

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrNoComposeFile is the cause of the ConfigError returned by Load when no
// Compose file was given and none was found in the working directory or
// its parents.
var ErrNoComposeFile = errors.New("no Compose file found")

// ConfigError is an invalid or missing configuration: a Compose file that
// does not load, an invalid `x-devd` or `develop.watch` entry, an unknown
// service. devd cannot run with it and reports it before touching any
// container.
type ConfigError struct {
	// File is the file at fault, a Compose file or a .dockerignore,
	// relative to the project directory when it lies inside it. It is empty
	// when no single file is at fault.
	File string
	// Service is the service at fault, empty for project-wide errors.
	Service string
	// Key is the path of the key at fault inside the service, such as
	// "x-devd.restart" or "develop.watch[0].path", or empty when unknown.
	Key string
	// Message describes the problem and, where possible, how to fix it.
	// When it is empty, Err's text is used.
	Message string
	// Err is the underlying cause for errors.Is and errors.As, or nil.
	Err error
}

// Error returns the error as one line: file, service, key and message,
// each part followed by ": " when present.
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Service != "" {
		fmt.Fprintf(&b, "service %q: ", e.Service)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("invalid configuration")
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// displayPath returns file relative to dir when it lies inside it, else
// file unchanged. It is how ConfigError.File names a file.
func displayPath(dir, file string) string {
	if dir == "" || file == "" || !filepath.IsAbs(file) {
		return file
	}
	rel, err := filepath.Rel(dir, file)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return file
	}
	return rel
}
