// Command kdive analyzes Linux kernel crash dumps with Red Hat crash's
// command language.
//
//	kdive [OPTION]... [VMLINUX] DUMPFILE
//
// The vmlinux and the dump may come in either order: they are told apart
// by content. See `kdive --help`.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"kdive/internal/cli"
	"kdive/internal/commands"
	"kdive/internal/program"
)

// version is kdive's version; the build may override it with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// openProgram opens the dump; tests replace it.
var openProgram = program.Open

// liveDump is what kdive reads when no dump file is named: the running
// kernel, as crash does.
const liveDump = "/proc/kcore"

func main() {
	// A write to a closed standard output ("kdive ... | head") then fails
	// with EPIPE, which the session handles, instead of killing kdive.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	silent       bool
	cmds         []string // -c, in order
	inputFile    string   // -i
	zeroExcluded bool
	force        bool
	log          bool // --log: print the dump's kernel log and exit
	help         bool
	helpTopic    string
	version      bool
	files        []string
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parseArgs parses the command line the way getopt_long does for crash:
// options and file names may be mixed, short options may be bundled
// ("-si FILE"), an option's argument may be attached ("-cCMD") or follow,
// and "--" ends the options.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.files = append(o.files, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			noArg := func() error {
				if hasVal {
					return &usageError{fmt.Sprintf("option '--%s' doesn't allow an argument", name)}
				}
				return nil
			}
			switch name {
			case "help":
				o.help = true
				if hasVal {
					o.helpTopic = val
				} else if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					i++
					o.helpTopic = args[i]
				}
			case "version":
				o.version = true
			case "zero_excluded", "zero-excluded":
				o.zeroExcluded = true
			case "force":
				o.force = true
			case "silent":
				o.silent = true
			case "log":
				o.log = true
			default:
				return nil, &usageError{fmt.Sprintf("unrecognized option '--%s'", name)}
			}
			if name != "help" {
				if err := noArg(); err != nil {
					return nil, err
				}
			}
			continue
		}
		if len(a) > 1 && a[0] == '-' {
		word:
			for j := 1; j < len(a); j++ {
				c := a[j]
				rest := a[j+1:]
				switch c {
				case 's':
					o.silent = true
					continue
				case 'v':
					o.version = true
					continue
				case 'h':
					o.help = true
					if rest != "" {
						o.helpTopic = rest
					} else if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
						i++
						o.helpTopic = args[i]
					}
				case 'c', 'i':
					if rest == "" {
						if i+1 >= len(args) {
							return nil, &usageError{fmt.Sprintf("option requires an argument -- '%c'", c)}
						}
						i++
						rest = args[i]
					}
					if c == 'c' {
						o.cmds = append(o.cmds, rest)
					} else {
						o.inputFile = rest
					}
				default:
					return nil, &usageError{fmt.Sprintf("invalid option -- '%c'", c)}
				}
				break word // the rest of the word was this option's argument
			}
			continue
		}
		o.files = append(o.files, a)
	}
	return o, nil
}

const shortUsage = `
Usage:

  kdive [OPTION]... [VMLINUX] DUMPFILE       (dumpfile form)
  kdive [OPTION]... [VMLINUX]                (live system form)

Enter "kdive -h" for details.
`

const longUsage = `
USAGE:

  kdive [OPTION]... [VMLINUX] DUMPFILE       (dumpfile form)
  kdive [OPTION]... [VMLINUX]                (live system form)

  kdive analyzes a Linux kernel crash dump with the commands of Red Hat's
  crash utility.  The VMLINUX and DUMPFILE arguments may be given in either
  order: they are told apart by their content.

OPTIONS:

  VMLINUX
    The kernel ELF image with its debug information.  It is optional:
    without it, kdive works from the dump's own VMCOREINFO, kallsyms and BTF.

  DUMPFILE
    A kernel crash dump: an ELF vmcore, or a makedumpfile kdump-compressed
    (zlib, lzo, snappy, zstd) or flattened dump.  Without one, kdive reads
    the running kernel through /proc/kcore.

  -h [command | input | output | all]
  --help [command | input | output | all]
    Without an argument, display this message.  With a command name, show
    that command's help page; "input" and "output" describe the command
    line input and output options, and "all" displays every help page.
    kdive then exits.

  -s
    Silently proceed to the "kdive>" prompt without displaying the version
    banner or the initial "sys" output, and do not echo commands read from
    an input file or standard input.

  -c command
    Run the command line, then exit.  May be repeated: the command lines
    run in order, in one session.  The exit status is 1 if any of them
    failed, else 0.

  -i file
    Run the command lines of file before reading commands from the
    terminal (or from standard input when it is not a terminal).  A "q",
    "quit" or "exit" in the file ends the session there.

  --zero_excluded  (or --zero-excluded)
    Read pages that makedumpfile filtered out of the dump as zeroes.

  --force
    Go on even when the vmlinux does not match the dump.

  --log
    Display the kernel log of the dump (what the "log" command shows),
    then exit.  No vmlinux is needed.

  -v, --version
    Display kdive's version and exit.

  When standard input is not a terminal, kdive reads command lines from it,
  one per line ("#" comments and blank lines are skipped), and exits with
  status 1 if any command failed, else 0.

`

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// run is kdive's main: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	defer startProfile()()
	commands.Version = versionString()
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "kdive: %v\n", err)
		fmt.Fprint(stderr, shortUsage)
		return 1
	}
	if o.version {
		fmt.Fprintf(stdout, "kdive %s\n", commands.Version)
		return 0
	}
	if o.help {
		if o.helpTopic != "" {
			commands.HelpTopic(stdout, o.helpTopic)
		} else {
			fmt.Fprint(stdout, longUsage)
		}
		return 0
	}

	vmlinux, dumpPath, err := sortFiles(o.files)
	if err != nil {
		fmt.Fprintf(stderr, "kdive: %v\n", err)
		return 1
	}
	if o.inputFile != "" {
		if err := checkReadable(o.inputFile); err != nil {
			fmt.Fprintf(stderr, "kdive: %v\n", err)
			return 1
		}
	}

	prog, err := openProgram(vmlinux, dumpPath, program.OpenOptions{
		ZeroExcluded: o.zeroExcluded,
		Force:        o.force,
		Warn: func(msg string) {
			fmt.Fprintf(stderr, "WARNING: %s\n", strings.TrimRight(msg, "\n"))
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "kdive: %s\n", strings.TrimRight(err.Error(), "\n"))
		return 1
	}
	defer prog.Close()

	if o.log {
		c := commands.Lookup("log")
		if c == nil {
			fmt.Fprintln(stderr, "kdive: --log: no log command")
			return 1
		}
		if err := c.Run(&commands.Env{Prog: prog, Out: stdout, Err: stderr}, nil); err != nil {
			fmt.Fprintf(stderr, "log: %v\n", err)
			return 1
		}
		return 0
	}

	s := cli.NewSession(prog, stdin, stdout, stderr)
	s.Echo = !o.silent
	if home, err := os.UserHomeDir(); err == nil {
		s.HistoryFile = filepath.Join(home, ".kdive_history")
	}
	if f, ok := stdout.(*os.File); ok && isTerminal(f) {
		s.LiveOutput = true
	}
	tty, interactive := stdin.(*os.File)
	interactive = interactive && isTerminal(tty)

	if !o.silent {
		fmt.Fprintf(stdout, "\nkdive %s\n\n", commands.Version)
		// crash shows the system data and the current context at startup
		// (main.c: display_sys_stats, show_context), which is what `sys`
		// prints; -c asks for specific commands, so not then.
		if len(o.cmds) == 0 && commands.Lookup("sys") != nil {
			s.RunUncounted("sys")
			commands.WriteStartupContext(prog, stdout)
			fmt.Fprintln(stdout)
		}
	}

	status := func() int {
		if s.Failures() > 0 {
			return 1
		}
		return 0
	}
	if o.inputFile != "" {
		if errors.Is(s.RunFile(o.inputFile), cli.ErrQuit) || s.OutputClosed() {
			return status()
		}
	}
	if len(o.cmds) > 0 {
		s.RunCommands(o.cmds)
		return status()
	}
	if interactive {
		if err := s.Interact(tty); err != nil {
			fmt.Fprintf(stderr, "kdive: %v\n", err)
			return 1
		}
		return 0
	}
	s.RunScript(stdin)
	return status()
}

// sortFiles tells the vmlinux from the dump among the file arguments.
// Messages are crash's (main.c).
func sortFiles(files []string) (vmlinux, dump string, err error) {
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return "", "", fmt.Errorf("%s: %s", f, strerror(err))
		}
		if st.IsDir() {
			return "", "", fmt.Errorf("%s: not a supported file format", f)
		}
		kind, err := classify(f)
		if err != nil {
			return "", "", fmt.Errorf("%s: %s", f, strerror(err))
		}
		switch kind {
		case kindDump:
			if dump != "" {
				return "", "", errors.New("too many dumpfile arguments")
			}
			dump = f
		case kindVmlinux:
			if vmlinux != "" {
				return "", "", errors.New("too many namelist arguments")
			}
			vmlinux = f
		default:
			return "", "", fmt.Errorf("%s: not a supported file format", f)
		}
	}
	if dump == "" {
		dump = liveDump
		if err := checkReadable(dump); err != nil {
			return "", "", err
		}
	}
	return vmlinux, dump, nil
}

func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %s", path, strerror(err))
	}
	f.Close()
	return nil
}

// strerror words an error as C's strerror does ("No such file or
// directory"), which is how crash names a file it cannot use.
func strerror(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := err.Error()
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
