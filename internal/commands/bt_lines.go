package commands

// bt's source lines (-l) and inlined frames, from the program's DWARF.

import (
	"fmt"
	"io"

	"kdive/internal/arch/amd64"
	"kdive/internal/kernel/stack"
	"kdive/internal/program"
)

// btFrame prints one frame: first the functions inlined at its address
// (innermost first, unnumbered, marked "(inlined)", with the frame's
// stack address), then the frame's own line; with -l each is followed by
// its source line. The group's first source line is crash's for the
// frame (the line of the address itself); each later one is where the
// function above it was inlined, so the real frame's line is the call in
// its own body.
func btFrame(w io.Writer, p *program.Program, n int, addr uint64, f stack.Frame, o *btOptions) {
	var calls []program.InlinedCall
	if isTextAddr(p, f.LookupIP()) {
		// The inlined calls around the call instruction (a return
		// address is after it).
		calls = p.InlinedAt(f.LookupIP())
	}
	src := ""
	if o.lines {
		if l, ok := p.LineAt(f.IP); ok {
			src = l.String()
		}
	}
	_, mod := btSymAt(p, f.IP, f.LookupIP(), o)
	for _, c := range calls {
		name := c.Name
		if name == "" {
			name = "??"
		}
		fmt.Fprintf(w, "    [%x] %s (inlined) at %x%s\n", addr, name, f.IP, mod)
		if src != "" {
			fmt.Fprintf(w, "    %s\n", src)
		}
		src = ""
		if o.lines && c.CallFile != "" && c.CallLine > 0 {
			src = fmt.Sprintf("%s: %d", c.CallFile, c.CallLine)
		}
	}
	btLine(w, p, n, addr, f, o)
	if src != "" {
		fmt.Fprintf(w, "    %s\n", src)
	}
}

// btRegsSource is bt -l's line after a kernel-mode exception frame's
// registers: the source line of its RIP.
func btRegsSource(w io.Writer, p *program.Program, f stack.Frame, o *btOptions) {
	if !o.lines || f.Regs == nil {
		return
	}
	r := f.Regs
	if r.Valid != amd64.AllValid && f.RegsAddr != 0 {
		var b [amd64.PtRegsSize]byte
		if _, err := p.ReadAt(b[:], f.RegsAddr); err == nil {
			r, _ = amd64.ParsePtRegs(b[:])
		}
	}
	if r.R[amd64.CS]&3 != 0 || r.R[amd64.RSP] == 0 {
		return
	}
	if l, ok := p.LineAt(r.R[amd64.RIP]); ok {
		fmt.Fprintf(w, "    %s\n", l)
	}
}
