package commands

// eval: evaluate an expression and show the result in hexadecimal,
// decimal, octal and binary, as crash's cmd_eval and print_number
// (tools.c) do.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"kdive/internal/expr"
)

func init() {
	Register(&Command{
		Name:    "eval",
		Summary: "evaluate an expression",
		Usage:   evalSynopsis,
		Help: `  Evaluates an expression and shows the result in hexadecimal (with a
  KB/MB/GB hint for round sizes), decimal (and negative decimal when the
  top bit is set), octal and binary.  The expression is crash's: one
  binary operator among + - & | * / % << >> ^ # (power), each operand a
  symbol or a number (decimal when only decimal digits, else hex), with
  optional k/m/g suffixes and a leading ~.  When that fails, kdive
  evaluates it as a C expression (internal/expr), e.g. eval 1 + 2 * 3 or
  eval sizeof(struct task_struct).

        -b  also list the bits that are set.
        -l  (32-bit machines only) ignored on x86-64.

EXAMPLES
    kdive> eval 0xffff9612a277cc00 + 704
    hexadecimal: ffff9612a277cec0  
        decimal: 18446627605512179392  (-116468197372224)
          octal: 1777774541124235747300
         binary: 1111111111111111100101100001001010100010011101111100111011000000`,
		NoProgram: true,
		Run: func(env *Env, args []string) error {
			if env.Prog == nil {
				return evalCommand(env, nil, args)
			}
			return evalCommand(env, env.Prog, args)
		},
	})
}

const evalSynopsis = "[-b][-l] (expression) | value"

func evalCommand(env *Env, prog typeTarget, args []string) error {
	i := 0
	bits := false
	switch {
	case len(args) > 0 && (args[0] == "-lb" || args[0] == "-bl"):
		bits = true
		i = 1
	case len(args) > 0 && args[0] == "-l":
		i = 1
		if len(args) > 2 && args[1] == "-b" {
			bits = true
			i = 2
		}
	case len(args) > 0 && args[0] == "-b":
		if len(args) > 1 && args[1] == "-l" {
			if len(args) < 3 {
				writeUsage(env, "eval", evalSynopsis)
				return errors.New("missing expression")
			}
			bits = true
			i = 2
		} else if len(args) > 1 {
			bits = true
			i = 1
		}
	}
	if i >= len(args) {
		writeUsage(env, "eval", evalSynopsis)
		return errors.New("missing expression")
	}
	var syms symbolResolver
	if prog != nil {
		syms = lazySyms(func() *ksymView { return viewOf(prog) })
	}
	var src string
	for _, a := range args[i:] {
		if strings.HasPrefix(a, "(") {
			src = a
			break
		}
		src += a + " "
	}
	if !strings.HasPrefix(src, "(") {
		src = "(" + strings.TrimSpace(src) + ")"
	}
	v, err := evalExpr(src, syms)
	if err != nil && errors.Is(err, errInvalidExpr) && prog != nil {
		// kdive: a C expression (precedence, casts, members, sizeof).
		c := strings.Join(args[i:], " ")
		if cv, cerr := expr.Eval(newProgEnv(prog), c); cerr == nil {
			if u, uerr := cv.Uint(); uerr == nil {
				v, err = u, nil
			}
		}
	}
	if err != nil {
		if errors.Is(err, errInvalidExpr) {
			return fmt.Errorf("invalid expression: %s", src)
		}
		return err
	}
	printNumber(env.Out, v, bits)
	return nil
}

// printNumber is crash's print_number on a 64-bit machine.
func printNumber(w io.Writer, n uint64, bits bool) {
	fmt.Fprintf(w, "hexadecimal: %x  ", n)
	if n >= 1<<10 {
		switch {
		case n%(1<<30) == 0:
			fmt.Fprintf(w, "(%dGB)", n/(1<<30))
		case n%(1<<20) == 0:
			fmt.Fprintf(w, "(%dMB)", n/(1<<20))
		case n%(1<<10) == 0:
			fmt.Fprintf(w, "(%dKB)", n/(1<<10))
		}
	}
	fmt.Fprintf(w, "\n")
	fmt.Fprintf(w, "    decimal: %d  ", n)
	if int64(n) < 0 {
		fmt.Fprintf(w, "(%d)\n", int64(n))
	} else {
		fmt.Fprintf(w, "\n")
	}
	fmt.Fprintf(w, "      octal: %o\n", n)
	fmt.Fprintf(w, "     binary: %064b\n", n)
	if !bits {
		return
	}
	const hdr = "   bits set: "
	fmt.Fprint(w, hdr)
	cc := len(hdr)
	for i := 63; i >= 0; i-- {
		if n&(1<<uint(i)) != 0 {
			s := fmt.Sprintf("%d ", i)
			fmt.Fprint(w, s)
			cc += len(s)
			if cc >= 77 {
				fmt.Fprintf(w, "\n%s", strings.Repeat(" ", len(hdr)))
				cc = len(hdr)
			}
		}
	}
	fmt.Fprintf(w, "\n")
}
