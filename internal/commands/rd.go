package commands

// rd: display memory, as crash's cmd_rd and display_memory (memory.c) do,
// byte for byte.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strings"

	"kdive/internal/arch/amd64"
	"kdive/internal/dump"
	"kdive/internal/mem"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "rd",
		Summary: "read memory",
		Usage:   rdSynopsis,
		Help: `  Displays memory, by default as 64-bit hexadecimal words followed by
  their ASCII rendering.  The start is a hexadecimal address (0x optional),
  a symbol, symbol+offset, or an expression in parentheses such as
  "(jiffies+8)".  The count is the number of items to show (decimal, or
  hexadecimal when it has hex letters); by default one item, or for -a
  the whole string.

        -8  show 8-bit values.
       -16  show 16-bit values.
       -32  show 32-bit values.
       -64  show 64-bit values (the default).
        -a  show the memory as ASCII text: printable characters, 60 per
            line; without a count, up to the first unprintable byte.
        -s  show 64-bit values that are kernel addresses as symbol or
            symbol+offset (give it before any -8/-16/-32).
        -S  as -s, and a value that points into a slab object shows
            its cache's name in brackets ([kmalloc-1k]); -SS shows the
            value too ([ffff8f3fd91642c0:kmalloc-64]).
        -x  no ASCII column.
        -d  signed decimal values.
        -D  unsigned decimal values.
        -N  16- and 32-bit values in network byte order.
        -R  read backwards: the count items that end at the address.
        -p  the address is physical.
        -u  the address is a user virtual address (not supported: kdive
            does not translate user space).
   -o offs  add offs to the start address.
   -e addr  display up to (not including) addr.
   -r file  copy count bytes (or up to -e addr) to file, raw.
        -m  (Xen machine addresses) and -f (dump file offsets) are not
            supported.

  A read that fails stops the display after what was read, with crash's
  error: "seek error" (not in the dump), "page excluded" (filtered out by
  makedumpfile) or "invalid kernel virtual address" (not mapped).

EXAMPLES
    kdive> rd jiffies 2
    ffffffff81e079c0:  00000000fffee678 0000000000000000   x...............
    kdive> rd -32 -x jiffies 2
    ffffffff81e079c0:  fffee678 00000000 
    kdive> rd -a linux_banner 60`,
		Run: runRd,
	})
}

const rdSynopsis = "[-adDsSupxmfNR][-8|-16|-32|-64][-o offs][-e addr][-r file][address|symbol]\n     [count]"

// rdTarget is what rd needs of a program; *program.Program has it, and
// tests use fakes.
type rdTarget interface {
	symSource
	ReadAt(b []byte, addr uint64) (int, error)
	ReadPhysAt(b []byte, addr uint64) (int, error)
	Info() *program.SourceInfo
}

// crash's display flags (memory.c).
const (
	display8 = 1 << iota
	display16
	display32
	display64
	displayASCII
	displayRaw
	showOffset
	symbolic
	hexadecimal
	decimal
	udecimal
	asciiEndline
	noASCII
	slabCache
	slabCache2
	netEndian

	displayTypes   = display8 | display16 | display32 | display64 | displayASCII | displayRaw
	displayDefault = display64
)

// asciiUnlimited is crash's ASCII_UNLIMITED: "rd -a" without a count.
const asciiUnlimited = int64(^uint64(0) >> 2)

type memType int

const (
	kvaddr memType = iota
	uvaddr
	physaddr
)

func (m memType) debugName() string {
	return [...]string{"KVADDR", "UVADDR", "PHYSADDR"}[m]
}

func (m memType) String() string {
	return [...]string{"kernel virtual", "user virtual", "physical"}[m]
}

func runRd(env *Env, args []string) error {
	return rdCommand(env, env.Prog, args)
}

func rdCommand(env *Env, prog rdTarget, args []string) error {
	flag := hexadecimal | displayDefault
	var endaddr, offset uint64
	haveEnd := false
	mt := kvaddr
	reverse := false
	outputFile := ""

	usage := func(err error) error {
		writeUsage(env, "rd", rdSynopsis)
		return err
	}
	opts, rest, err := getopt("rd", args, "Raxme:r:pfudDusSNo:81:3:6:")
	if err != nil {
		return usage(err)
	}
	var v *ksymView
	view := func() *ksymView {
		if v == nil {
			v = viewOf(prog)
		}
		return v
	}
	syms := lazySyms(view)
	var argerrs []string
	for _, o := range opts {
		switch o.c {
		case 'R':
			reverse = true
		case 'a':
			flag = flag&^displayTypes | displayASCII
		case '8':
			flag = flag&^displayTypes | display8
		case '1', '3', '6':
			want := map[byte]string{'1': "6", '3': "2", '6': "4"}[o.c]
			if o.arg != want {
				argerrs = append(argerrs, fmt.Sprintf("invalid option: %c%s", o.c, o.arg))
				continue
			}
			size := map[byte]int{'1': display16, '3': display32, '6': display64}[o.c]
			flag = flag&^displayTypes | size
		case 'e':
			a, err := parseAddrArg(o.arg, syms)
			if err != nil {
				return addrError(err)
			}
			endaddr, haveEnd = a, true
		case 'r':
			flag = flag&^displayTypes | displayRaw
			outputFile = o.arg
		case 's', 'S':
			if flag&displayDefault == 0 {
				argerrs = append(argerrs, fmt.Sprintf("-%c option is only allowed with 64-bit display", o.c))
				continue
			}
			flag |= symbolic
			if o.c == 'S' {
				if flag&slabCache != 0 {
					flag |= slabCache2
				}
				flag |= slabCache
			}
		case 'o':
			n, err := parseCrashNumber(o.arg)
			if err != nil {
				return err
			}
			offset = n
			flag |= showOffset
		case 'p':
			mt = physaddr
		case 'u':
			mt = uvaddr
		case 'd':
			flag = flag&^(hexadecimal|decimal) | decimal
		case 'D':
			flag = flag&^(hexadecimal|udecimal) | udecimal
		case 'm':
			return errors.New("-m option only applies to xen architecture")
		case 'f':
			return errors.New("-f option (dump file offsets) is not supported")
		case 'x':
			flag |= noASCII
		case 'N':
			flag |= netEndian
		}
	}
	if len(argerrs) > 0 || len(rest) == 0 {
		writeUsage(env, "rd", rdSynopsis)
		if len(argerrs) > 0 {
			return errors.New(strings.Join(argerrs, "; "))
		}
		return nil
	}

	addr, err := parseAddrArg(rest[0], syms)
	if err != nil {
		var nf *symbolNotFoundError
		if errors.As(err, &nf) {
			fmt.Fprintf(env.Out, "symbol not found: %s\n", nf.Name)
			fmt.Fprintf(env.Out, "possible alternatives:\n")
			if view().queryPad(env.Out, nf.Name, "  ") == 0 {
				fmt.Fprintf(env.Out, "  (none found)\n")
			}
			return ErrShown
		}
		return err
	}
	if flag&showOffset != 0 {
		addr += offset
	}

	count := int64(-1)
	if len(rest) > 1 {
		n, err := parseCrashNumber(rest[1])
		if err != nil {
			return err
		}
		count = int64(n)
	}
	if count == -1 {
		if haveEnd {
			if endaddr <= addr {
				return fmt.Errorf("invalid ending address: %x", endaddr)
			}
			bcnt := endaddr - addr
			switch flag & displayTypes {
			case display64:
				count = int64(bcnt / 8)
			case display32:
				count = int64(bcnt / 4)
			case display16:
				count = int64(bcnt / 2)
			default:
				count = int64(bcnt)
			}
		} else {
			if flag&displayTypes == displayRaw {
				return errors.New("-r option requires either a count argument or the -e option")
			}
			count = 1
			if flag&displayASCII != 0 {
				count = asciiUnlimited
			}
		}
	} else if haveEnd {
		fmt.Fprintf(env.Err, "WARNING: ending address ignored when count is specified\n")
	}

	if flag&hexadecimal != 0 && flag&symbolic == 0 && flag&noASCII == 0 && flag&displayASCII == 0 {
		flag |= asciiEndline
	}

	if mt == kvaddr && addr < kvBase(prog) {
		mt = uvaddr
	}

	if reverse {
		if count == 0 {
			count = 1
		}
		if count > 1 {
			addr -= uint64(count-1) * uint64(itemSize(flag))
		}
	}

	d := &display{
		w:    env.Out,
		prog: prog,
		view: view,
		flag: flag,
		cacheOf: func(a uint64) string {
			if kmemSlab.CacheOf == nil || env.Prog == nil {
				return ""
			}
			return kmemSlab.CacheOf(env, a)
		},
		mt:    mt,
		count: count,
	}
	if flag&displayRaw != 0 {
		return d.raw(addr, outputFile)
	}
	return d.run(addr)
}

// kvBase is the lowest kernel virtual address (crash: machdep->kvbase,
// the direct map's base); below it an address is a user address.
func kvBase(prog rdTarget) uint64 {
	if info := prog.Info(); info != nil && info.PageOffset != 0 {
		return info.PageOffset
	}
	return 0xffff800000000000
}

func itemSize(flag int) int {
	switch flag & displayTypes {
	case display64:
		return 8
	case display32:
		return 4
	case display16:
		return 2
	}
	return 1
}

// display is one run of crash's display_memory.
type display struct {
	w    io.Writer
	prog rdTarget
	view func() *ksymView
	// cacheOf names the slab cache of an address (rd -S), "" when none.
	cacheOf func(addr uint64) string
	flag    int
	mt      memType
	count   int64
}

// readChunk is how much rd reads at once; output streams, so a huge count
// needs no more memory than this.
const readChunk = 64 << 10

// read reads up to len(b) bytes at addr in the display's address space.
// On failure it returns the bytes read before the first unreadable one
// and crash's error message for that address.
func (d *display) read(b []byte, addr uint64, readtype string) (int, error) {
	if d.mt == uvaddr {
		return 0, fmt.Errorf("cannot read user virtual address %x: kdive does not translate user addresses", addr)
	}
	var n int
	var err error
	if d.mt == physaddr {
		n, err = d.prog.ReadPhysAt(b, addr)
	} else {
		n, err = d.prog.ReadAt(b, addr)
	}
	if err == nil && n < len(b) {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		return n, nil
	}
	return n, readError(err, d.mt, addr+uint64(n), readtype)
}

// readError words a failed read as crash's readmem does (memory.c:
// INVALID_KVADDR, SEEK_ERRMSG, READ_ERRMSG, PAGE_EXCLUDED_ERRMSG).
func readError(err error, mt memType, addr uint64, readtype string) error {
	var ex *dump.ExcludedError
	var np *dump.NotPresentError
	var te *amd64.TranslateError
	var mf *mem.FaultError
	var pf *program.FaultError
	switch {
	case errors.As(err, &ex):
		return fmt.Errorf("page excluded: %s address: %x  type: \"%s\"", mt, addr, readtype)
	case errors.As(err, &np):
		return fmt.Errorf("seek error: %s address: %x  type: \"%s\"", mt, addr, readtype)
	case mt == kvaddr && errors.As(err, &te):
		return fmt.Errorf("invalid kernel virtual address: %x  type: \"%s\"", addr, readtype)
	case mt == kvaddr && (errors.As(err, &mf) && mf.Err == nil || errors.As(err, &pf) && pf.Err == nil):
		return fmt.Errorf("invalid kernel virtual address: %x  type: \"%s\"", addr, readtype)
	}
	return fmt.Errorf("read error: %s address: %x  type: \"%s\"  (%v)", mt, addr, readtype, err)
}

// run displays count items from addr (memory.c: display_memory).
func (d *display) run(addr uint64) error {
	flag := d.flag
	typesz := itemSize(flag)
	var perLine, asciiStart int
	var readtype string
	const vaddrPrlen = 16
	switch flag & displayTypes {
	case display64:
		perLine, asciiStart = 2, 37+vaddrPrlen
	case display32:
		perLine, asciiStart = 4, 39+vaddrPrlen
	case display16:
		perLine, asciiStart = 8, 43+vaddrPrlen
	case display8:
		perLine, asciiStart = 16, 51+vaddrPrlen
	case displayASCII:
		perLine = 60
	}
	if flag&displayASCII != 0 {
		readtype = "ascii"
	} else {
		readtype = fmt.Sprintf("%d-bit %s", typesz*8, d.mt.debugName())
	}
	if d.count <= 0 {
		return fmt.Errorf("invalid count request: %d", d.count)
	}

	w := d.w
	var line strings.Builder // the current line, written out as it ends
	flush := func() {
		io.WriteString(w, line.String())
		line.Reset()
	}
	var hexchars []byte
	linelen := 0
	a, displayed := 0, 0
	buf := make([]byte, readChunk)

	i := int64(0)
	for i < d.count {
		// Read the next chunk: whole items, not past 2^64, and for an
		// unlimited -a at most to the end of the page.
		items := int64(len(buf) / typesz)
		if left := d.count - i; left < items {
			items = left
		}
		if d.count == asciiUnlimited {
			items = min(items, int64(4096-addr%4096))
		}
		if room := (^addr)/uint64(typesz) + 1; room != 0 && uint64(items) > room {
			items = int64(room) // the rest wraps past the top of memory
		}
		chunk := buf[:items*int64(typesz)]
		n, rerr := d.read(chunk, addr, readtype)
		got := int64(n / typesz)
		for k := int64(0); k < got; k++ {
			b := chunk[k*int64(typesz) : (k+1)*int64(typesz)]
			if flag&displayASCII == 0 && i%int64(perLine) == 0 {
				if i != 0 {
					if flag&asciiEndline != 0 {
						line.WriteString("  ")
						line.Write(hexchars)
					}
					line.WriteString("\n")
					flush()
				}
				fmt.Fprintf(&line, "%16x:  ", addr)
				hexchars = hexchars[:0]
				linelen = vaddrPrlen + 3
			}
			switch flag & displayTypes {
			case display64:
				v := binary.LittleEndian.Uint64(b)
				if flag&(hexadecimal|symbolic|displayDefault) == hexadecimal|symbolic|displayDefault {
					vw := d.view()
					if vw.inRange(v) {
						if s := vw.symbolString(v); s != "" {
							fmt.Fprintf(&line, "%-16s ", s)
							linelen += len(s) + 1
							break
						}
					}
					if flag&slabCache != 0 {
						if name := d.cacheOf(v); name != "" {
							s := "[" + name + "]"
							if flag&slabCache2 != 0 {
								s = fmt.Sprintf("[%x:%s]", v, name)
							}
							fmt.Fprintf(&line, "%-16s ", s)
							linelen += len(s) + 1
							break
						}
					}
				}
				switch {
				case flag&hexadecimal != 0:
					fmt.Fprintf(&line, "%016x ", v)
					linelen += 17
				case flag&decimal != 0:
					fmt.Fprintf(&line, "%15d ", int64(v))
				case flag&udecimal != 0:
					fmt.Fprintf(&line, "%20d ", v)
				}
			case display32:
				// crash's symbolic test for 32-bit items needs the
				// DISPLAY_DEFAULT bit, which is DISPLAY_64 on a 64-bit
				// machine: never true, so -s -32 shows plain hex.
				v := binary.LittleEndian.Uint32(b)
				if flag&netEndian != 0 {
					v = bits.ReverseBytes32(v)
					binary.LittleEndian.PutUint32(b, v)
				}
				switch {
				case flag&hexadecimal != 0:
					fmt.Fprintf(&line, "%08x ", v)
					linelen += 9
				case flag&decimal != 0:
					fmt.Fprintf(&line, "%12d ", int32(v))
				case flag&udecimal != 0:
					fmt.Fprintf(&line, "%12d ", v)
				}
			case display16:
				v := binary.LittleEndian.Uint16(b)
				if flag&netEndian != 0 {
					v = bits.ReverseBytes16(v)
					binary.LittleEndian.PutUint16(b, v)
				}
				switch {
				case flag&hexadecimal != 0:
					fmt.Fprintf(&line, "%04x ", v)
					linelen += 5
				case flag&(decimal|udecimal) != 0:
					fmt.Fprintf(&line, "%5d ", v)
				}
			case display8:
				switch {
				case flag&hexadecimal != 0:
					fmt.Fprintf(&line, "%02x ", b[0])
					linelen += 3
				case flag&(decimal|udecimal) != 0:
					fmt.Fprintf(&line, "%3d ", b[0])
				}
			case displayASCII:
				c := b[0]
				if c >= 0x20 && c < 0x7f {
					if a%perLine == 0 {
						if displayed != 0 && i != 0 {
							line.WriteString("\n")
							flush()
						}
						fmt.Fprintf(&line, "%16x:  ", addr)
					}
					line.WriteByte(c)
					displayed++
					a++
				} else {
					if d.count == asciiUnlimited {
						// crash stops at the first unprintable byte,
						// without ending the line.
						flush()
						return nil
					}
					a = 0
				}
			}
			if flag&hexadecimal != 0 && flag&displayASCII == 0 {
				for _, c := range b {
					if c >= 0x20 && c < 0x7f {
						hexchars = append(hexchars, c)
					} else {
						hexchars = append(hexchars, '.')
					}
				}
			}
			addr += uint64(typesz)
			i++
		}
		if rerr != nil {
			flush()
			return rerr
		}
		if line.Len() > 4096 {
			flush()
		}
	}
	if flag&asciiEndline != 0 && len(hexchars) > 0 {
		if pad := asciiStart - linelen; pad > 0 {
			line.WriteString(strings.Repeat(" ", pad))
		}
		line.WriteString("  ")
		line.Write(hexchars)
	}
	line.WriteString("\n")
	flush()
	return nil
}

// raw copies count bytes from addr to a file (rd -r).
func (d *display) raw(addr uint64, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot open output file: %s", path)
	}
	defer f.Close()
	if d.count <= 0 {
		return fmt.Errorf("invalid count request: %d", d.count)
	}
	buf := make([]byte, readChunk)
	for written := int64(0); written < d.count; {
		sz := min(int64(len(buf)), d.count-written)
		n, err := d.read(buf[:sz], addr+uint64(written), "raw dump to file")
		if _, werr := f.Write(buf[:n]); werr != nil {
			return fmt.Errorf("cannot write to: %s", path)
		}
		if err != nil {
			return err
		}
		written += sz
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write to: %s", path)
	}
	fmt.Fprintf(d.w, "%d bytes copied from 0x%x to %s\n", d.count, addr, path)
	return nil
}

// addrError turns an address argument's parse error into crash's wording.
func addrError(err error) error {
	var nf *symbolNotFoundError
	if errors.As(err, &nf) {
		return fmt.Errorf("invalid input: \"%s\"", nf.Name)
	}
	return err
}

// lazySyms resolves symbols through a view built on first use, so that a
// hexadecimal address needs no symbol table.
type lazySyms func() *ksymView

func (l lazySyms) symbolAddr(name string) (uint64, bool) { return l().symbolAddr(name) }
