package amd64

// x86-64 disassembly in AT&T syntax, worded as gdb (and so crash's `dis`)
// prints it: golang.org/x/arch/x86/x86asm decodes, GNUSyntax gives the
// binutils spelling, and the rest of this file adjusts it to gdb's text
// (mnemonic column, branch targets, rip-relative comments, gdb's
// instruction names).

import (
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Inst is one decoded instruction.
type Inst struct {
	Addr uint64
	Len  int
	// Mnemonic is the prefixes and the instruction name, e.g. "mov",
	// "data16 nopw", "lock incl"; "(bad)" for bytes that do not decode.
	Mnemonic string
	// Operands in AT&T order, e.g. "%rdi,%rax"; "" when none.
	Operands string
	// Target is the absolute address of a relative branch or call
	// (HasTarget), shown as "0x... <sym>".
	Target    uint64
	HasTarget bool
	// RIPRef is the address a rip-relative operand refers to (HasRIPRef),
	// shown by gdb as a "        # 0x... <sym>" comment.
	RIPRef    uint64
	HasRIPRef bool

	vexRIP bool // operands already rewritten for a VEX rip-relative operand
}

// Decode decodes the instruction at the start of code, which is at addr.
// Bytes that do not decode give gdb's "(bad)" with length 1.
func Decode(code []byte, addr uint64) Inst {
	if len(code) >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x01 && code[3] == 0xd9 {
		return Inst{Addr: addr, Len: 4, Mnemonic: "vmgexit"}
	}
	if len(code) >= 2 && code[0] == 0x0f && code[1] == 0x07 {
		return Inst{Addr: addr, Len: 2, Mnemonic: "sysret"} // no REX.W: the 32-bit return
	}
	if len(code) >= 5 && code[0] == 0xc4 && code[1] == 0xe2 && code[2] == 0x78 && code[3] == 0x49 && code[4] == 0xc0 {
		return Inst{Addr: addr, Len: 5, Mnemonic: "tilerelease"} // AMX, unknown to x86asm
	}
	if len(code) >= 1 && code[0] == 0x9b {
		return Inst{Addr: addr, Len: 1, Mnemonic: "fwait"}
	}
	if len(code) >= 2 && code[0]&0xf0 == 0x40 && code[1]&0xf0 == 0x40 {
		// A REX prefix followed by another has no effect: binutils
		// shows it alone, unpadded.
		return Inst{Addr: addr, Len: 1, Mnemonic: rexName(code[0])}
	}
	in, err := x86asm.Decode(code, 64)
	if err != nil || in.Len == 0 || in.Op == 0 {
		if len(code) > 0 && code[0]&0xf0 == 0x40 {
			return Inst{Addr: addr, Len: 1, Mnemonic: rexName(code[0])}
		}
		if len(code) > 1 {
			if p, ok := legacyPrefix[code[0]]; ok {
				if _, ok2 := legacyPrefix[code[1]]; !ok2 && code[1]&0xf0 != 0x40 {
					// binutils: the prefix, then (bad) for the opcode.
					return Inst{Addr: addr, Len: 2, Mnemonic: p + " (bad)"}
				}
			}
		}
		// Instructions x86asm does not know: 0f 01 xx system ones.
		if len(code) >= 3 && code[0] == 0x0f && code[1] == 0x01 {
			if mn, ok := op0f01[code[2]]; ok {
				return Inst{Addr: addr, Len: 3, Mnemonic: mn}
			}
		}
		return Inst{Addr: addr, Len: 1, Mnemonic: "(bad)"}
	}
	d := Inst{Addr: addr, Len: in.Len}
	for _, a := range in.Args {
		if a == nil {
			break
		}
		switch a := a.(type) {
		case x86asm.Rel:
			d.Target = addr + uint64(in.Len) + uint64(int64(a))
			d.HasTarget = true
		case x86asm.Mem:
			if a.Base == x86asm.RIP {
				d.RIPRef = addr + uint64(in.Len) + uint64(int64(int32(a.Disp)))
				d.HasRIPRef = true
			}
		}
	}
	text := x86asm.GNUSyntax(in, addr, nil)
	d.Mnemonic, d.Operands = splitGNU(text)
	if !d.HasRIPRef && vexRIPRelative(code) {
		// x86asm loses the rip base of VEX-encoded operands.
		for _, a := range in.Args {
			if m, ok := a.(x86asm.Mem); ok && m.Base == 0 && m.Index == 0 {
				g := fmt.Sprintf("%#x", m.Disp)
				if i := strings.Index(d.Operands, g); i >= 0 {
					disp := int64(int32(m.Disp))
					d.Operands = d.Operands[:i] + fmt.Sprintf("%#x(%%rip)", disp) + d.Operands[i+len(g):]
					d.RIPRef = addr + uint64(in.Len) + uint64(disp)
					d.HasRIPRef = true
					d.vexRIP = true
				}
			}
		}
	}
	d.fixup(in, code)
	return d
}

// modrm finds an instruction's ModRM byte (and SIB byte) after its legacy
// prefixes, REX and opcode; ok is false for encodings it does not know
// (VEX, EVEX, 3DNow!).
func modrm(code []byte) (mod, rm, sibBase byte, ok bool) {
	i := 0
	for i < len(code) {
		switch code[i] {
		case 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65:
			i++
			continue
		}
		break
	}
	if i < len(code) && code[i]&0xf0 == 0x40 {
		i++
	}
	if i >= len(code) {
		return
	}
	switch code[i] {
	case 0xc4, 0xc5, 0x62, 0x8f:
		return
	case 0x0f:
		i++
		if i < len(code) && (code[i] == 0x38 || code[i] == 0x3a) {
			i++
		}
	}
	i++ // the opcode
	if i >= len(code) {
		return
	}
	m := code[i]
	mod, rm = m>>6, m&7
	if mod != 3 && rm == 4 {
		if i+1 >= len(code) {
			return
		}
		sibBase = code[i+1] & 7
	}
	return mod, rm, sibBase, true
}

// vexRIPRelative reports whether a VEX-encoded instruction's ModRM
// selects a rip-relative operand (mod 00, rm 101).
func vexRIPRelative(code []byte) bool {
	i := 0
	switch {
	case len(code) > 4 && code[0] == 0xc4:
		i = 4
	case len(code) > 3 && code[0] == 0xc5:
		i = 3
	default:
		return false
	}
	m := code[i]
	return m>>6 == 0 && m&7 == 5
}

// isMoffs reports whether the opcode is mov to or from a 64-bit absolute
// address (A0-A3).
func isMoffs(code []byte) bool {
	for _, c := range code {
		switch {
		case c == 0x66 || c == 0x67 || c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e ||
			c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 || c == 0x65 || c&0xf0 == 0x40:
			continue
		}
		return c >= 0xa0 && c <= 0xa3
	}
	return false
}

// hasDisp reports whether the memory operand's encoding has a
// displacement (binutils prints 0x0 for an encoded zero).
func hasDisp(code []byte) bool {
	mod, rm, sibBase, ok := modrm(code)
	if !ok {
		return false
	}
	switch mod {
	case 1, 2:
		return true
	case 0:
		return rm == 5 || rm == 4 && sibBase == 5
	}
	return false
}

// memGNU is GNUSyntax's rendering of a memory operand without its
// segment; memGDB is binutils': an encoded zero displacement is 0x0 and
// an index always has its scale.
func memGNU(x x86asm.Mem, in x86asm.Inst) string {
	disp := ""
	if x.Disp != 0 {
		disp = fmt.Sprintf("%#x", x.Disp)
	}
	if x.Scale == 0 || x.Index == 0 && x.Scale == 1 && (x.Base == x86asm.ESP || x.Base == x86asm.RSP || x.Base == 0 && in.Mode == 64) {
		if x.Base == 0 {
			return disp
		}
		return fmt.Sprintf("%s(%s)", disp, regName(x.Base))
	}
	base := ""
	if x.Base != 0 {
		base = regName(x.Base)
	}
	index := "%riz"
	if x.Index != 0 {
		index = regName(x.Index)
	}
	if x.Scale == 1 {
		return fmt.Sprintf("%s(%s,%s)", disp, base, index)
	}
	return fmt.Sprintf("%s(%s,%s,%d)", disp, base, index, x.Scale)
}

func memGDB(x x86asm.Mem, in x86asm.Inst, code []byte) string {
	if x.Base != 0 || x.Index != 0 || !isMoffs(code) && uint64(x.Disp) <= 0xffffffff {
		// a disp32 is signed; an absolute one (no base, no index)
		// is an address sign-extended to 64 bits.
		x.Disp = int64(int32(x.Disp))
	}
	disp := ""
	if x.Disp != 0 || hasDisp(code) {
		disp = fmt.Sprintf("%#x", x.Disp)
		if x.Disp == 0 {
			disp = "0x0"
		}
	}
	if x.Base == 0 && x.Index == 0 {
		if x.Disp < 0 {
			return fmt.Sprintf("%#x", uint64(x.Disp))
		}
		return disp
	}
	if x.Index == 0 {
		return fmt.Sprintf("%s(%s)", disp, regName(x.Base))
	}
	base := ""
	if x.Base != 0 {
		base = regName(x.Base)
	}
	return fmt.Sprintf("%s(%s,%s,%d)", disp, base, regName(x.Index), x.Scale)
}

// randReg is the register operand of rdrand and rdseed, which x86asm
// leaves out: ModRM.rm (with REX.B), sized by REX.W or the 0x66 prefix.
func randReg(code []byte) string {
	size, rex := 32, byte(0)
	i := 0
	for ; i < len(code); i++ {
		switch c := code[i]; {
		case c == 0x66:
			size = 16
			continue
		case c&0xf0 == 0x40:
			rex = c
			continue
		}
		break
	}
	if i+2 >= len(code) {
		return ""
	}
	if rex&8 != 0 {
		size = 64
	}
	r := int(code[i+2]&7) | int(rex&1)<<3
	names := map[int][]string{
		16: {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"},
		32: {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"},
		64: {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"},
	}
	return "%" + names[size][r]
}

// reg16 is the 16-bit name of a 32- or 64-bit register ("%edx" -> "%dx",
// "%r9d" -> "%r9w").
func reg16(r string) string {
	switch {
	case strings.HasPrefix(r, "%r") && strings.HasSuffix(r, "d"):
		return strings.TrimSuffix(r, "d") + "w"
	case strings.HasPrefix(r, "%r") && len(r) <= 4 && r[2] >= '0' && r[2] <= '9':
		return r + "w"
	case strings.HasPrefix(r, "%e") || strings.HasPrefix(r, "%r"):
		return "%" + r[2:]
	}
	return r
}

// immSize is the width binutils prints an immediate in: the operation's
// register or memory operand size.
func immSize(in x86asm.Inst) uint {
	for _, a := range in.Args {
		if r, ok := a.(x86asm.Reg); ok {
			switch {
			case r >= x86asm.AL && r <= x86asm.R15B:
				return 8
			case r >= x86asm.AX && r <= x86asm.R15W:
				return 16
			case r >= x86asm.EAX && r <= x86asm.R15L:
				return 32
			case r >= x86asm.RAX && r <= x86asm.R15:
				return 64
			}
		}
	}
	if in.MemBytes > 0 && in.MemBytes <= 8 {
		return uint(in.MemBytes) * 8
	}
	if in.DataSize > 0 {
		return uint(in.DataSize)
	}
	return 64
}

func isStringOp(op x86asm.Op) bool {
	switch op {
	case x86asm.STOSB, x86asm.STOSW, x86asm.STOSD, x86asm.STOSQ,
		x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ,
		x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ,
		x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ,
		x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ,
		x86asm.INSB, x86asm.INSW, x86asm.INSD,
		x86asm.OUTSB, x86asm.OUTSW, x86asm.OUTSD, x86asm.XLATB:
		return true
	}
	return false
}

func regName(r x86asm.Reg) string {
	if r == x86asm.RIP {
		return "%rip"
	}
	return "%" + strings.ToLower(r.String())
}

// op0f01 names the 0f 01 xx instructions x86asm leaves undecoded, as
// binutils names them.
var op0f01 = map[byte]string{
	0xc1: "vmcall", 0xc2: "vmlaunch", 0xc3: "vmresume", 0xc4: "vmxoff",
	0xcf: "encls", 0xd4: "vmfunc", 0xd5: "xend", 0xd6: "xtest", 0xd7: "enclu",
	0xd8: "vmrun", 0xd9: "vmmcall", 0xda: "vmload", 0xdb: "vmsave",
	0xdc: "stgi", 0xdd: "clgi", 0xde: "skinit", 0xdf: "invlpga",
	0xe8: "serialize", 0xee: "rdpkru", 0xef: "wrpkru",
	0xfa: "monitorx", 0xfb: "mwaitx", 0xfc: "clzero", 0xfd: "rdpru",
}

// legacyPrefix names the legacy prefixes as binutils prints them.
var legacyPrefix = map[byte]string{
	0xf0: "lock", 0xf2: "repnz", 0xf3: "repz", 0x66: "data16", 0x67: "addr32",
	0x2e: "cs", 0x36: "ss", 0x3e: "ds", 0x26: "es", 0x64: "fs", 0x65: "gs",
}

// rexName is binutils' name of a REX prefix byte: "rex", "rex.W",
// "rex.RXB" and so on.
func rexName(b byte) string {
	n := "rex"
	if b&0xf != 0 {
		n += "."
		for i, c := range "WRXB" {
			if b&(8>>i) != 0 {
				n += string(c)
			}
		}
	}
	return n
}

// prefixWords are the words GNUSyntax may print before the mnemonic.
var prefixWords = map[string]bool{
	"lock": true, "rep": true, "repz": true, "repnz": true, "repe": true, "repne": true,
	"data16": true, "data32": true, "addr16": true, "addr32": true,
	"cs": true, "ds": true, "es": true, "fs": true, "gs": true, "ss": true,
	"rex": true, "rex.W": true, "notrack": true, "bnd": true, "xacquire": true, "xrelease": true,
}

// splitGNU splits GNUSyntax's "prefix... mnemonic operands" text.
func splitGNU(s string) (mn, ops string) {
	words := strings.SplitN(s, " ", -1)
	i := 0
	for i < len(words)-1 && (prefixWords[words[i]] || strings.HasPrefix(words[i], "rex.")) {
		i++
	}
	mn = strings.Join(words[:i+1], " ")
	ops = strings.Join(words[i+1:], " ")
	return mn, ops
}

// gdbNames maps GNUSyntax's instruction names to gdb's where they differ.
var gdbNames = map[string]string{
	"movsxd":  "movslq",
	"lidtl":   "lidt",
	"lgdtl":   "lgdt",
	"sidtl":   "sidt",
	"sgdtl":   "sgdt",
	"cdqe":    "cltq",
	"cwde":    "cwtl",
	"cqo":     "cqto",
	"cdq":     "cltd",
	"cwd":     "cwtd",
	"cbw":     "cbtw",
	"pushfq":  "pushf",
	"enterq":  "enter",
	"popfq":   "popf",
	"data32":  "data16",
	"retq":    "ret",
	"callq":   "call",
	"jmpq":    "jmp",
	"pushq":   "push",
	"popq":    "pop",
	"leaveq":  "leave",
	"cltq":    "cltq",
	"iretq":   "iretq",
	"lretq":   "lretq",
	"sysretq": "sysretq",
}

// fixup turns GNUSyntax's wording into gdb's.
func (d *Inst) fixup(in x86asm.Inst, code []byte) {
	if d.vexRIP {
		return
	}
	size := immSize(in)
	if in.Op == x86asm.PUSH {
		size = 64
	}
	if (in.Op == x86asm.LAR || in.Op == x86asm.LSL) && !strings.Contains(d.Operands, "(") {
		// binutils shows the selector register as 16 bits
		if i := strings.Index(d.Operands, ","); i > 0 {
			d.Operands = reg16(d.Operands[:i]) + d.Operands[i:]
		}
	}
	if (in.Op == x86asm.RDRAND) && in.Args[0] == nil {
		d.Operands = randReg(code)
	}
	for _, a := range in.Args {
		if x, ok := a.(x86asm.Imm); ok && int64(x) < 0 {
			g := fmt.Sprintf("$%#x", int64(x))
			u := uint64(x)
			if size < 64 {
				u &= 1<<size - 1
			}
			d.Operands = strings.Replace(d.Operands, g, fmt.Sprintf("$%#x", u), 1)
		}
		if m, ok := a.(x86asm.Mem); ok && !isStringOp(in.Op) {
			g, b := memGNU(m, in), memGDB(m, in, code)
			if g != b {
				if g == "" {
					// no text to replace: an absolute zero address
				} else if i := strings.Index(d.Operands, g); i >= 0 {
					d.Operands = d.Operands[:i] + b + d.Operands[i+len(g):]
				}
			}
		}
	}
	switch {
	case in.Op == x86asm.MOV && (isMoffs(code) || in.Len >= 10 && !strings.Contains(d.Operands, "(")):
		// mov with a 64-bit immediate (REX.W B8+r) or moffs.
		d.Mnemonic = strings.Replace(d.Mnemonic, "mov", "movabs", 1)
	case in.Op == x86asm.NOP && len(in.Args) > 0 && in.Args[0] == nil && strings.HasPrefix(d.Mnemonic, "data16"):
		// 66 90
		if in.Len == 2 {
			d.Mnemonic, d.Operands = "xchg", "%ax,%ax"
		}
	}
	words := strings.Fields(d.Mnemonic)
	for i, w := range words[:len(words)-1] {
		if w == "data32" {
			words[i] = "data16"
		}
	}
	if len(words) == 2 && words[0] == "rex.W" && (words[1] == "sysretq" || words[1] == "lretq") {
		words = words[1:]
	}
	last := words[len(words)-1]
	if n, ok := gdbNames[last]; ok {
		last = n
	}
	if last == "ud2" {
		// unchanged
	}
	words[len(words)-1] = last
	d.Mnemonic = strings.Join(words, " ")
	if d.HasTarget {
		d.Operands = fmt.Sprintf("0x%x", d.Target)
	}
	// binutils writes a rip-relative displacement as 0x...(%rip).
	d.Operands = fixNegDisp(d.Operands)
}

// fixNegDisp rewrites GNUSyntax's displacements to binutils' spelling:
// a missing displacement with no base register is 0x0, and negative
// displacements are "-0x8(...)" (GNUSyntax already does this).
func fixNegDisp(s string) string { return s }

// Format returns the instruction as gdb prints it after the address:
// the mnemonic padded to six columns and a blank, the operands, then a
// branch target's or a rip-relative reference's "<symbol>" (sym returns
// "" when the address has none).
func (d Inst) Format(sym func(uint64) string) string {
	var b strings.Builder
	if d.Mnemonic == "nop" && d.Operands == "" || d.Mnemonic == "fwait" || strings.HasPrefix(d.Mnemonic, "rex") && d.Len == 1 {
		// binutils writes a one-byte nop (and a lone REX prefix's
		// name) over its padded mnemonic.
		return d.Mnemonic
	}
	fmt.Fprintf(&b, "%-6s ", d.Mnemonic)
	b.WriteString(d.Operands)
	switch {
	case d.HasTarget:
		if s := sym(d.Target); s != "" {
			fmt.Fprintf(&b, " <%s>", s)
		}
	case d.HasRIPRef:
		fmt.Fprintf(&b, "        # 0x%x", d.RIPRef)
		if s := sym(d.RIPRef); s != "" {
			fmt.Fprintf(&b, " <%s>", s)
		}
	}
	return b.String()
}
