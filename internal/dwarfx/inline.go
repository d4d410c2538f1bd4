package dwarfx

// Inlined calls at an address: the DW_TAG_inlined_subroutine DIEs, nested
// inside the DW_TAG_subprogram (and lexical blocks) whose ranges hold it.

import "fmt"

// InlinedCall is one inlined function at an address.
type InlinedCall struct {
	// Name is the inlined function (through DW_AT_abstract_origin).
	Name string
	// CallFile and CallLine are where it was inlined: a line of the
	// function it was inlined into (the next entry of the chain, or the
	// containing function). CallFile is "" when unknown.
	CallFile string
	CallLine int
}

// Bounds on the walk of a unit's DIEs.
const (
	maxInlineDepth = 64
	maxWalkDIEs    = 1 << 24
)

// pcDIE is a DIE as the inline walk reads it.
type pcDIE struct {
	tag       uint32
	children  bool
	sib       uint64
	next      uint64 // first child or next sibling
	pc        pcAttrs
	origin    uint64 // absolute offset, 0: none
	callFile  uint64
	callLine  uint64
	hasOrigin bool
}

// readPCDIE reads the DIE at off (nil at a null entry).
func (ix *Index) readPCDIE(u *unit, b []byte, tab *abbrevTable, off uint64) (*pcDIE, uint64, error) {
	code, pos, ok := uleb(b, int(off))
	if !ok {
		return nil, 0, fmt.Errorf("%s+%#x: truncated DIE", secNames[u.sec], off)
	}
	if code == 0 {
		return nil, uint64(pos), nil
	}
	ab := tab.get(code)
	if ab == nil {
		return nil, 0, fmt.Errorf("%s+%#x: unknown abbreviation code %d", secNames[u.sec], off, code)
	}
	d := &pcDIE{tag: ab.tag, children: ab.children}
	interesting := ab.tag == tagSubprogram || ab.tag == tagInlinedSub || ab.tag == tagLexBlock
	for i := range ab.attrs {
		a := &ab.attrs[i]
		if !interesting && a.at != atSibling {
			if pos, ok = u.skipValue(b, pos, a.form); !ok {
				return nil, 0, fmt.Errorf("%s+%#x: DIE runs past the end of the unit", secNames[u.sec], off)
			}
			continue
		}
		switch a.at {
		case atSibling, atLowPC, atHighPC, atRanges, atAbstractOrigin, atCallFile, atCallLine:
		default:
			if pos, ok = u.skipValue(b, pos, a.form); !ok {
				return nil, 0, fmt.Errorf("%s+%#x: DIE runs past the end of the unit", secNames[u.sec], off)
			}
			continue
		}
		v, np, err := u.readValue(b, pos, a.form, a.ic)
		if err != nil {
			return nil, 0, err
		}
		pos = np
		switch a.at {
		case atSibling:
			if v.form == formRefSig8 || v.u <= off || v.u > uint64(len(b)) {
				return nil, 0, fmt.Errorf("%s+%#x: DW_AT_sibling %#x out of range", secNames[u.sec], off, v.u)
			}
			d.sib = v.u
		case atLowPC:
			d.pc.low, d.pc.hasLow = v, true
		case atHighPC:
			d.pc.high, d.pc.hasHigh = v, true
		case atRanges:
			d.pc.ranges, d.pc.hasRanges = v, true
		case atAbstractOrigin:
			if r, err := ix.ref(u, v, off); err == nil && r&typesBit == 0 {
				d.origin, d.hasOrigin = r&offMask, true
			}
		case atCallFile:
			d.callFile = v.u
		case atCallLine:
			d.callLine = v.u
		}
	}
	d.next = uint64(pos)
	return d, uint64(pos), nil
}

// InlineChain returns the inlined calls at pc (an address in the file's
// own address space), innermost first; none when pc is not in inlined
// code or has no debug information. The slice is shared (cached): do not
// modify it.
func (ix *Index) InlineChain(pc uint64) ([]InlinedCall, error) {
	l := &ix.ln
	l.mu.Lock()
	chain, ok := l.chains[pc]
	l.mu.Unlock()
	if ok {
		return chain, nil
	}
	chain, err := ix.inlineChain(pc)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.chains == nil || len(l.chains) >= maxCachedChains {
		l.chains = map[uint64][]InlinedCall{}
	}
	l.chains[pc] = chain
	l.mu.Unlock()
	return chain, nil
}

// maxCachedChains bounds the inline chains kept (bt of every task asks
// the same return addresses again and again).
const maxCachedChains = 1 << 14

func (ix *Index) inlineChain(pc uint64) ([]InlinedCall, error) {
	c, err := ix.unitLines(pc)
	if err != nil || c == nil || c.info == nil || !c.info.hasChildren {
		return nil, err
	}
	u := c.u
	b := ix.secData(u.sec)[:u.end]
	tab, err := ix.table(u)
	if err != nil {
		return nil, err
	}
	var chain []InlinedCall
	pos := c.info.firstChild
	depth, walked := 0, 0
	// Walk the siblings at pos; descend into the one whose ranges hold
	// pc (a function, an inlined call or a block), skip the others.
	for pos < u.end {
		if walked++; walked > maxWalkDIEs {
			return nil, fmt.Errorf("%s+%#x: too many DIEs", secNames[u.sec], pos)
		}
		off := pos
		d, np, err := ix.readPCDIE(u, b, tab, off)
		if err != nil {
			return nil, err
		}
		if d == nil {
			break // end of this level: pc is in no deeper scope
		}
		descend := false
		switch d.tag {
		case tagSubprogram, tagInlinedSub, tagLexBlock:
			if d.pc.hasLow || d.pc.hasRanges {
				rs, err := ix.pcRanges(u, &d.pc, c.info.base, c.info.rnglistsBase)
				if err != nil {
					return nil, err
				}
				descend = inRanges(rs, pc)
			} else if d.tag == tagLexBlock {
				descend = false
			}
		}
		if descend {
			if d.tag == tagInlinedSub {
				call := InlinedCall{CallFile: c.fileName(d.callFile), CallLine: int(d.callLine)}
				if d.hasOrigin {
					if v, ok, err := ix.dieName(u, d.origin, 0); err == nil && ok {
						call.Name, _ = ix.strValue(u, v)
					}
				}
				chain = append(chain, call)
			}
			if !d.children {
				break
			}
			if depth++; depth > maxInlineDepth {
				return nil, fmt.Errorf("%s+%#x: scopes nested too deeply", secNames[u.sec], off)
			}
			pos = d.next
			continue
		}
		switch {
		case !d.children:
			pos = np
		case d.sib != 0:
			pos = d.sib
		default:
			if pos, err = ix.skipTree(u, off); err != nil {
				return nil, err
			}
		}
	}
	// Innermost first.
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}
