package commands

// pte: translate a page table entry's contents, as crash's cmd_pte and
// x86_64_translate_pte print them: the physical page and the flags of a
// present entry, the swap device and offset of a swap entry.

import (
	"errors"
	"fmt"

	"kdive/internal/kernel/fs"
)

func init() {
	Register(&Command{
		Name:    "pte",
		Summary: "translate a page table entry",
		Usage:   "contents ...",
		Help: `  This command translates the hexadecimal contents of a PTE into its
  physical page address and page bit settings, or, for an entry that is
  not present, its swap type and offset.  A swap entry whose swap area
  the dump does not describe is an error.

EXAMPLE
    kdive> pte 800000001ff72163
          PTE         PHYSICAL  FLAGS
    800000001ff72163  1ff72000  (PRESENT|RW|ACCESSED|DIRTY|GLOBAL|NX)`,
		Run: runPte,
	})
}

func runPte(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	_, rest, err := getopt("pte", args, "")
	if err != nil || len(rest) == 0 {
		writeUsage(env, "pte", "contents ...")
		return ErrShown
	}
	for _, a := range rest {
		v, err := parseCrashHex(a)
		if err != nil {
			return fmt.Errorf("invalid pte value: %s", a)
		}
		const present, protnone = 1 << 0, 1 << 8
		if v != 0 && v&(present|protnone) == 0 {
			typ, off := swapEntry(v)
			dev, ok := swapDevice(env, typ)
			if !ok {
				return fmt.Errorf("%x: swap type %d offset %d: cannot determine swap location", v, typ, off)
			}
			ptebuf, offs := fmt.Sprintf("%x", v), fmt.Sprintf("%d", off)
			l1, l2, l3 := max(len(ptebuf), 3), max(len(dev), 4), max(len(offs), 6)
			fmt.Fprintf(env.Out, "%s  %s  %s\n", center(l1, "PTE", false), center(l2, "SWAP", false), center(l3, "OFFSET", false))
			fmt.Fprintf(env.Out, "%s  %s  %s\n", center(l1, ptebuf, true), center(l2, dev, true), center(l3, offs, true))
			continue
		}
		translatePTE(env.Out, v)
	}
	return nil
}

// swapDevice names swap area typ: the path of swap_info[typ]->swap_file.
func swapDevice(env *Env, typ uint64) (string, bool) {
	p := env.Prog
	si, err := p.Symbol("swap_info")
	if err != nil || typ >= 64 {
		return "", false
	}
	n, err := p.Symbol("nr_swapfiles")
	if err != nil {
		return "", false
	}
	nr, err := p.ReadU32(n)
	if err != nil || uint64(nr) <= typ {
		return "", false
	}
	sp, err := p.ReadU64(si + 8*typ)
	if err != nil || sp == 0 {
		return "", false
	}
	o, err := p.MemberOffset("swap_info_struct", "swap_file")
	if err != nil {
		return "", false
	}
	file, err := p.ReadU64(sp + o)
	if err != nil || file == 0 {
		return "", false
	}
	r, err := fsReader(p)
	if err != nil {
		return "", false
	}
	f, err := r.File(file, -1, nil)
	if err != nil || f.Path == "" {
		return "", false
	}
	return f.Path, true
}

func fsReader(p fs.Source) (*fs.Reader, error) { return fs.New(p) }
