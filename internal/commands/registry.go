// Package commands holds kdive's crash-style commands, one file per command.
// Commands are thin: they parse arguments, ask the program and the kernel
// helpers for data, and format it as crash does.
package commands

import (
	"errors"
	"io"
	"sort"

	"kdive/internal/program"
)

// Env is what a command runs with.
type Env struct {
	Prog *program.Program // nil when no dump is open (e.g. help)
	Out  io.Writer        // the command's standard output (maybe a pipe or file)
	Err  io.Writer        // warnings that do not fail the command
}

// Command is one crash command.
type Command struct {
	Name    string
	Aliases []string
	Summary string // one line, for the `help` list
	Usage   string // synopsis, e.g. "rd [-dDsSupxmfNR][-8|-16|-32|-64][-o offs][-e addr][-r file] [address|symbol] [count]"
	Help    string // full help text (options and examples)
	// NoProgram marks commands that run without an open dump.
	NoProgram bool
	// KeepQuotes gives Run the single quotes of a '...' argument, as
	// crash's parse_line leaves them (ps and foreach 'regex').
	KeepQuotes bool
	// Run executes the command. An error is printed as one line
	// "NAME: message" on stderr by the caller.
	Run func(env *Env, args []string) error
}

var registry = map[string]*Command{}

// Register adds a command; it is called from init functions.
func Register(c *Command) {
	registry[c.Name] = c
	for _, a := range c.Aliases {
		registry[a] = c
	}
}

// Lookup returns the command with that name or alias, or nil.
func Lookup(name string) *Command { return registry[name] }

// All returns every registered command once, sorted by name.
func All() []*Command {
	seen := map[*Command]bool{}
	var out []*Command
	for _, c := range registry {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ErrShown is returned by a command that has already printed its error in
// crash's words on its output (e.g. "symbol not found: x" with the possible
// alternatives): the session counts the failure but prints no second line.
var ErrShown = errors.New("error shown in the command's output")
