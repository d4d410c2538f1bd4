package commands

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Version is kdive's version, shown by `help`; the main package sets it.
var Version = "dev"

// ErrQuit is returned by the q and exit commands: the session ends.
var ErrQuit = errors.New("quit")

// helpColumns is the number of columns of the `help` command list
// (crash defs.h: HELP_COLUMNS).
const helpColumns = 5

func init() {
	Register(&Command{
		Name:      "help",
		Aliases:   []string{"man", "?"},
		Summary:   "get help",
		Usage:     "[command | all | input | output | -v]",
		NoProgram: true,
		Help: `  When entered with no argument, a list of all currently available kdive
  commands is shown.  If a command name is entered, a more complete
  description of the command is displayed.  "help input" and "help output"
  describe the command line input and output options, and "help all"
  displays every help page.  "help -v" shows where kdive's knowledge of the
  dump comes from: the dump format, the symbol source (vmlinux ELF symbol
  table or the kernel's kallsyms), the type source (vmlinux .BTF or the BTF
  in the dump's memory), KASLR offset, phys_base and page_offset_base.`,
		Run: runHelp,
	})
	Register(&Command{
		Name:      "q",
		Aliases:   []string{"quit"},
		Summary:   "exit this session",
		Usage:     " ",
		NoProgram: true,
		Help: `  Bail out of the current kdive session.

NOTE
  This command is equivalent to the "exit" command.`,
		Run: func(*Env, []string) error { return ErrQuit },
	})
	Register(&Command{
		Name:      "exit",
		Summary:   "exit this session",
		Usage:     " ",
		NoProgram: true,
		Help: `  Bail out of the current kdive session.

NOTE
  This command is equivalent to the "q" command.`,
		Run: func(*Env, []string) error { return ErrQuit },
	})
}

func runHelp(env *Env, args []string) error {
	w := env.Out
	if len(args) == 0 {
		HelpScreen(w)
		return nil
	}
	if len(args) == 1 && args[0] == "-v" {
		return helpSources(env)
	}
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			return fmt.Errorf("invalid option -- '%c'", a[1])
		}
	}
	for _, a := range args {
		HelpTopic(w, a)
	}
	return nil
}

// helpNames lists every command once, by its main name, sorted, with "q"
// last as crash does (help.c: sort_command_name).
func helpNames() []string {
	var names []string
	hasQ := false
	for _, c := range All() {
		if c.Name == "q" {
			hasQ = true
			continue
		}
		names = append(names, c.Name)
	}
	if hasQ {
		names = append(names, "q")
	}
	return names
}

// HelpScreen writes the command list in columns, as crash's
// display_help_screen does (help.c): names go down the columns, each
// padded to 15 characters.
func HelpScreen(w io.Writer) {
	names := helpNames()
	n := len(names)
	rows := (n + helpColumns - 1) / helpColumns
	fmt.Fprintf(w, "\n")
	for i := 0; i < rows; i++ {
		for j := 0; j < helpColumns; j++ {
			k := i + j*rows
			if k >= n {
				break
			}
			if len(names[k]) >= 15 {
				// add-symbol-file: crash has no name this long.
				fmt.Fprintf(w, "%s ", names[k])
				continue
			}
			fmt.Fprintf(w, "%-15s", names[k])
		}
		fmt.Fprintf(w, "\n")
	}
	fmt.Fprintf(w, "\nkdive version: %s\n", Version)
	fmt.Fprintf(w, "For help on any command above, enter \"help <command>\".\n")
	fmt.Fprintf(w, "For help on input options, enter \"help input\".\n")
	fmt.Fprintf(w, "For help on output options, enter \"help output\".\n\n")
}

// HelpTopic writes the help page of a command, or of "input", "output"
// or "all". The page layout is crash's (help.c: cmd_usage): NAME,
// SYNOPSIS and DESCRIPTION.
func HelpTopic(w io.Writer, topic string) {
	switch topic {
	case "input":
		io.WriteString(w, inputHelp)
		return
	case "output":
		io.WriteString(w, outputHelp)
		return
	case "all":
		io.WriteString(w, inputHelp)
		io.WriteString(w, outputHelp)
		for _, name := range helpNames() {
			HelpTopic(w, name)
		}
		return
	}
	c := Lookup(topic)
	if c == nil {
		fmt.Fprintf(w, "No help data for \"%s\" is available.\n", topic)
		return
	}
	if c.Help == "" && c.Usage == "" && c.Summary == "" {
		fmt.Fprintf(w, "No help data for the \"%s\" command is available.\n", c.Name)
		return
	}
	fmt.Fprintf(w, "\nNAME\n  %s - %s\n", c.Name, c.Summary)
	// SYNOPSIS is "  NAME USAGE" as crash prints it ("  q  " for a command
	// without arguments, whose usage is " "). A Usage may start with the
	// command name or not.
	usage := c.Usage
	if t := strings.TrimSpace(usage); t == c.Name || strings.HasPrefix(t, c.Name+" ") {
		usage = strings.TrimPrefix(t[len(c.Name):], " ")
	}
	fmt.Fprintf(w, "\nSYNOPSIS\n  %s %s\n", c.Name, usage)
	fmt.Fprintf(w, "\nDESCRIPTION\n")
	if h := strings.Trim(c.Help, "\n"); h != "" {
		fmt.Fprintf(w, "%s\n", h)
	} else {
		fmt.Fprintf(w, "  %s\n", c.Summary)
	}
	fmt.Fprintf(w, "\n")
}

const inputHelp = `
Interactive kdive commands are read with a line editor that keeps a command
history (saved in ~/.kdive_history) and an emacs-style editing mode; the
up- and down-arrow keys (or CTRL-p and CTRL-n) recycle previous commands,
and CTRL-r searches them.  A previously run command can be re-executed:

  1. To re-execute the last command, enter "r" alone, or "!!".
  2. Enter "r" followed by the number identifying the desired command
     (as listed by "h"), or "!" followed by that number.
  3. Enter "r" followed by a uniquely-identifying set of characters from
     the beginning of the desired command string.

Enter "h" to list the commands entered so far.  CTRL-c cancels the line
being typed; while a command runs it interrupts the command at its next
line of output.  CTRL-d on an empty line, "q", "quit" or "exit" leave.

A set of kdive commands may be entered into a regular file that can be used
as input, using standard command line syntax:

  kdive> < inputfile

An input file may be also be run from the kdive command line using the -i
option, or commands given with -c (repeatable), or piped into kdive:

  $ kdive -i inputfile vmcore
  $ kdive -c "sys" -c "bt -a" vmcore
  $ echo "log" | kdive -s vmcore

Lines that start with "#" or "//" are comments.  Arguments may be quoted
with '...' or "..."; an argument that starts with "(" runs to the matching
")" and is passed on with its parentheses.

`

const outputHelp = `
By default, kdive command output is sent to the standard output.  It may be
sent elsewhere with the usual shell conventions:

  kdive> log > file        write the output to file
  kdive> log >> file       append the output to file
  kdive> log | grep oom    pipe the output through a shell command line

A "|" or ">" inside quotes or parentheses is not a pipe or redirection, nor
is the ">" of a "->".  A line that starts with "!" runs the rest of the line
as a shell command; "!" alone starts an interactive shell.

Errors are written to the standard error, one line each, in the form
"command: message".

`

// helpSources prints where the program's knowledge comes from.
func helpSources(env *Env) error {
	if env.Prog == nil {
		return fmt.Errorf("no dump is open")
	}
	p := env.Prog
	si := p.Info()
	types := si.Types
	if types == "" {
		// Types load in the background at open; ask once so the source is known.
		if _, err := p.TypeSize("struct list_head"); err != nil {
			types = "unavailable: " + err.Error()
		} else {
			types = p.Info().Types
		}
	}
	vml := p.VmlinuxPath
	if vml == "" {
		vml = "(none)"
	}
	levels := 4
	if si.Level5 {
		levels = 5
	}
	w := env.Out
	fmt.Fprintf(w, "         DUMPFILE: %s\n", p.Dump.Info().Path)
	fmt.Fprintf(w, "      DUMP FORMAT: %s\n", si.DumpFormat)
	fmt.Fprintf(w, "          VMLINUX: %s\n", vml)
	fmt.Fprintf(w, "        OSRELEASE: %s\n", si.OSRelease)
	fmt.Fprintf(w, "         BUILD-ID: %s\n", si.BuildID)
	fmt.Fprintf(w, "          SYMBOLS: %s (%d symbols)\n", si.Symbols, p.Symbols().Len())
	fmt.Fprintf(w, "            TYPES: %s\n", types)
	mods, err := p.Modules()
	if err != nil {
		fmt.Fprintf(w, "          MODULES: %d (%v)\n", len(mods), err)
	} else {
		fmt.Fprintf(w, "          MODULES: %d (struct module offsets from the types above)\n", len(mods))
	}
	fmt.Fprintf(w, "     KASLR OFFSET: %x\n", si.KASLROffset)
	fmt.Fprintf(w, "        PHYS_BASE: %x\n", si.PhysBase)
	fmt.Fprintf(w, " PAGE_OFFSET_BASE: %x\n", si.PageOffset)
	fmt.Fprintf(w, "      PAGE TABLES: %d-level\n", levels)
	return nil
}
