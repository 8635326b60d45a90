package compose

import (
	"io"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"
)

// logrusMu serialises the loads that redirect logrus's global logger, so
// each one restores what the previous one left.
var logrusMu sync.Mutex

// routeLogrus sends what logrus's global logger prints (compose-go's
// warnings: several Compose files found, an obsolete `version` key) to log
// until the returned function is called. Anything else in the process that
// logs through logrus meanwhile goes to log as well.
func routeLogrus(log hclog.Logger) (restore func()) {
	logrusMu.Lock()
	std := logrus.StandardLogger()
	oldHooks := std.ReplaceHooks(logrus.LevelHooks{})
	std.AddHook(hclogHook{log: log})
	oldOut := std.Out
	std.SetOutput(io.Discard)
	return func() {
		std.SetOutput(oldOut)
		std.ReplaceHooks(oldHooks)
		logrusMu.Unlock()
	}
}

// hclogHook is a logrus hook that forwards entries to an hclog logger.
type hclogHook struct {
	log hclog.Logger
}

// Levels returns every level: the logger's own level decides what fires.
func (h hclogHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire forwards one entry, under a constant message with the text in
// "detail".
func (h hclogHook) Fire(e *logrus.Entry) error {
	args := make([]any, 0, 2+2*len(e.Data))
	args = append(args, "detail", e.Message)
	for k, v := range e.Data {
		args = append(args, k, v)
	}
	switch e.Level {
	case logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel:
		h.log.Error("compose loader message", args...)
	case logrus.WarnLevel:
		h.log.Warn("compose loader message", args...)
	case logrus.InfoLevel:
		h.log.Info("compose loader message", args...)
	case logrus.DebugLevel:
		h.log.Debug("compose loader message", args...)
	default:
		h.log.Trace("compose loader message", args...)
	}
	return nil
}
