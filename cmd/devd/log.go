package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
)

// logLevels are the accepted --log-level values. hclog turns an unknown
// level string into Info silently, so devd checks the value itself.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// jsonTimeFormat is the format of @timestamp in JSON logs.
const jsonTimeFormat = time.RFC3339Nano

// newLogger builds devd's root logger. Colour is used only on a terminal
// and never when NO_COLOR is set.
func newLogger(level string, jsonFormat bool, out io.Writer) (hclog.Logger, error) {
	return newLoggerTo(level, jsonFormat, out, out)
}

// newLoggerTo is newLogger writing to out, with colour when term, the
// terminal behind out, allows it.
func newLoggerTo(level string, jsonFormat bool, out, term io.Writer) (hclog.Logger, error) {
	level = strings.ToLower(strings.TrimSpace(level))
	valid := false
	for _, l := range logLevels {
		if level == l {
			valid = true
		}
	}
	if !valid {
		return nil, fmt.Errorf("invalid --log-level (or DEVD_LOG_LEVEL) %q: use one of %s", level, strings.Join(logLevels, ", "))
	}

	color := hclog.ColorOff
	if f, ok := term.(*os.File); ok && !jsonFormat && os.Getenv("NO_COLOR") == "" && isatty.IsTerminal(f.Fd()) {
		color = hclog.ForceColor
	}
	// People read the time of day; tools need the date and zone too.
	timeFormat := "15:04:05.000"
	if jsonFormat {
		timeFormat = jsonTimeFormat
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "devd",
		Level:      hclog.LevelFromString(level),
		Output:     out,
		JSONFormat: jsonFormat,
		Color:      color,
		TimeFormat: timeFormat,
	}), nil
}
