package delve

import (
	"strconv"
	"strings"
)

// Command describes the debug server a dlv command line starts.
type Command struct {
	// Subcommand is dlv's verb: "exec", "debug", "test", "attach", "dap"...
	// Empty means none was found.
	Subcommand string
	// Target is the first argument after the verb: the binary for exec, the
	// package for debug and test, the process id for attach. Empty when
	// missing.
	Target string
	// Headless, Multiclient and Continue are the values of --headless,
	// --accept-multiclient and --continue; the last occurrence wins, as in
	// dlv's own flag parsing.
	Headless    bool
	Multiclient bool
	Continue    bool
	// Listen is the value of --listen or -l, as written. Empty means the
	// flag is missing and Delve listens on a random loopback port.
	Listen string
}

// serverVerbs are dlv's subcommands that start a debug server a client can
// connect to and that honour --accept-multiclient. `dlv dap` serves a single
// client whatever its flags.
var serverVerbs = map[string]bool{
	"exec": true, "debug": true, "test": true, "attach": true, "core": true, "replay": true,
}

// valueFlags are dlv flags that take a value, which may be the next word.
// Knowing them keeps a value such as `--wd exec` from reading as the verb.
var valueFlags = map[string]bool{
	"--listen": true, "-l": true, "--api-version": true, "--log-output": true,
	"--log-dest": true, "--init": true, "--build-flags": true, "--wd": true,
	"--backend": true, "--redirect": true, "-r": true, "--tty": true,
	"--output": true, "-o": true, "--client-addr": true, "--waitfor": true,
	"--waitfor-interval": true, "--waitfor-duration": true,
}

// ParseCommands finds the dlv commands in a service's entrypoint followed by
// its command. Words that hold a whole shell script are split on white space
// and at the operators `;`, `&&`, `||`, `|` and `&`, and quotes are dropped,
// the way the debug package finds Delve's listen address. A dlv command
// starts at a word `dlv` (or ending in `/dlv`) and ends at `--`, which
// starts the program's own arguments, or at the end of its shell command.
func ParseCommands(args []string) []Command {
	var found []Command
	for _, words := range shellCommands(args) {
		for i := 0; i < len(words); i++ {
			if words[i] == "dlv" || strings.HasSuffix(words[i], "/dlv") {
				cmd, next := parseDlv(words[i+1:])
				found = append(found, cmd)
				i += next
			}
		}
	}

	return found
}

// parseDlv reads the flags and verb of one dlv command from the words after
// `dlv`, returning the command and how many words it used.
func parseDlv(words []string) (Command, int) {
	var cmd Command
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			return cmd, i + 1
		}
		name, value, hasValue := strings.Cut(w, "=")
		switch {
		case name == "--headless":
			cmd.Headless = boolFlag(value, hasValue)
		case name == "--accept-multiclient":
			cmd.Multiclient = boolFlag(value, hasValue)
		case name == "--continue":
			cmd.Continue = boolFlag(value, hasValue)
		case valueFlags[name]:
			if !hasValue && i+1 < len(words) {
				i++
				value = words[i]
			}
			if name == "--listen" || name == "-l" {
				cmd.Listen = value
			}
		case strings.HasPrefix(w, "-"):
			// A flag this parser does not need; dlv's other flags are
			// booleans or written with `=`.
		case cmd.Subcommand == "":
			cmd.Subcommand = w
		case cmd.Target == "":
			cmd.Target = w
		}
	}

	return cmd, len(words)
}

// boolFlag reads a boolean flag the way dlv's flag library does: a bare flag
// is true, `=false` (or 0, f, F, FALSE, False) is false.
func boolFlag(value string, hasValue bool) bool {
	if !hasValue {
		return true
	}
	b, err := strconv.ParseBool(value)

	return err == nil && b
}

// ServesMulticlient reports whether the command starts a headless server
// that accepts several clients, the only kind devd may connect to.
func (c Command) ServesMulticlient() bool {
	return serverVerbs[c.Subcommand] && c.Headless && c.Multiclient
}

// MulticlientFromArgs reports whether the command line starts Delve as a
// headless server accepting several clients. It is false when the command
// line holds no dlv command, or when any dlv command in it serves a single
// client: devd cannot tell which of them listens on a port, and connecting
// to a single-client server ends it (see the package documentation).
//
// The daemon must call Dial only when this returns true.
func MulticlientFromArgs(args []string) bool {
	cmds := ParseCommands(args)
	if len(cmds) == 0 {
		return false
	}
	for _, c := range cmds {
		if !c.ServesMulticlient() {
			return false
		}
	}

	return true
}

// CanSwap reports whether devd may replace the service's binary through
// [Swap]: every dlv command in the command line is a headless multiclient
// `dlv exec`, so connecting is safe and Delve can restart the program from
// its path without rebuilding. `dlv debug` and `dlv test` rerun the binary
// they built themselves, and an attached process cannot be restarted.
func CanSwap(args []string) bool {
	if !MulticlientFromArgs(args) {
		return false
	}
	for _, c := range ParseCommands(args) {
		if c.Subcommand != "exec" || c.Target == "" {
			return false
		}
	}

	return true
}

// shellCommands turns an argument list into words and groups them into
// shell commands, split at `;`, `&&`, `||`, `|` and `&`, with quotes
// dropped.
func shellCommands(args []string) [][]string {
	unquote := strings.NewReplacer(`"`, "", `'`, "")
	var cmds [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			cmds = append(cmds, cur)
			cur = nil
		}
	}
	for _, arg := range args {
		for _, w := range strings.Fields(arg) {
			w = unquote.Replace(w)
			switch w {
			case ";", "&&", "||", "|", "&":
				flush()
				continue
			}
			if trimmed, ok := strings.CutSuffix(w, ";"); ok {
				if trimmed != "" {
					cur = append(cur, trimmed)
				}
				flush()
				continue
			}
			cur = append(cur, w)
		}
	}
	flush()

	return cmds
}
