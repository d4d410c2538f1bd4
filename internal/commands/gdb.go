package commands

// gdb: crash's "gdb COMMAND": the command goes to the embedded gdb. kdive
// has no gdb: it runs its own versions of the gdb commands crash users
// type (disassemble, add-symbol-file, info symbol/line/address, and the
// print and type commands kdive shares with crash).

import (
	"errors"
	"fmt"
	"strings"
)

func init() {
	Register(&Command{
		Name:    "gdb",
		Summary: "run a gdb command",
		Usage:   "command ...",
		Help: `  Runs a gdb command, as crash passes it to its embedded gdb.  kdive has
  no gdb: it runs its own versions of the gdb commands crash users type:
  disassemble, add-symbol-file, info symbol, info line, info address,
  list (gdb's source listing: "gdb list FUNCTION", "gdb list *ADDRESS",
  "gdb list FILE:LINE", "gdb list LINE", "gdb list LOCATION,+N", and
  "gdb list" for the next ten lines; crash's own list walks linked
  lists), x (examine memory: x/NFU ADDRESS), and p (print), ptype,
  whatis.  These also work without the "gdb" prefix
  (disassemble also as "disas").

EXAMPLES
    kdive> gdb info symbol 0xffffffffbd2093da
    schedule + 90 in section .text
    kdive> gdb disassemble /r kdive_rig_null_deref`,
		Run: runGdb,
	})
}

// gdbCommands are the gdb commands kdive runs.
var gdbCommands = map[string]string{
	"disassemble": "disassemble", "disas": "disassemble",
	"add-symbol-file": "add-symbol-file",
	"info":            "info",
	"x":               "x",
	"p":               "p", "print": "p",
	"ptype": "ptype", "whatis": "whatis",
}

func runGdb(env *Env, args []string) error {
	if len(args) == 0 {
		return errors.New("a gdb command is required")
	}
	// gdb's "x/4xg ADDR" and "p/x EXPR": the format is the command's
	// first argument.
	if i := strings.IndexByte(args[0], '/'); i > 0 {
		args = append([]string{args[0][:i], args[0][i:]}, args[1:]...)
	}
	if args[0] == "list" || args[0] == "l" {
		// crash's own list walks linked lists: gdb's is reached here.
		return gdbList(env, args[1:])
	}
	name, ok := gdbCommands[args[0]]
	var c *Command
	if ok {
		c = Lookup(name)
	}
	if c == nil {
		return fmt.Errorf("%s: kdive runs no gdb: of gdb's commands it has disassemble, add-symbol-file, info symbol|line|address, list, x, p, ptype, whatis", args[0])
	}
	rest := args[1:]
	if name == "p" {
		// gdb prints "$N = value" without crash's "NAME = " leader for
		// a symbol: the expression goes in parentheses.
		i := 0
		for i < len(rest) && (strings.HasPrefix(rest[i], "/") || strings.HasPrefix(rest[i], "-")) {
			i++
		}
		if i < len(rest) {
			rest = append(append([]string(nil), rest[:i]...), "("+strings.Join(rest[i:], " ")+")")
		}
	}
	return c.Run(env, rest)
}
