package dwarfx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of a Type.
type Kind uint8

// Type kinds.
const (
	Void Kind = iota
	Base
	Struct
	Union
	Enum
	Typedef
	Pointer
	Array
	Func
	Const
	Volatile
	Restrict
	Atomic
)

var kindNames = [...]string{"void", "base", "struct", "union", "enum", "typedef", "pointer", "array", "function", "const", "volatile", "restrict", "_Atomic"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Type is a decoded DWARF type. Types are shared and must not be modified.
type Type struct {
	Kind Kind
	Name string
	// Size in bytes; -1 when unknown (void, functions, incomplete types).
	Size int64
	// Encoding of a base type (EncSigned, EncUnsigned, EncFloat, ...).
	Encoding uint8
	// Declaration: an incomplete struct/union/enum with no definition anywhere.
	Declaration bool
	// Signed: enums whose underlying type is signed (values are sign-extended).
	Signed bool

	Members     []Member     // struct, union
	Enumerators []Enumerator // enum
	// Count of array elements; -1 for a flexible array (no bound).
	Count      int64
	Params     []*Type  // function parameters
	ParamNames []string // their names ("" when unnamed), for functions
	Variadic   bool

	// Offset is the DIE offset (in .debug_info, or .debug_types with bit 55 set).
	Offset uint64

	elem    *Type  // typedef, qualifiers, array element, enum base, function return
	target  uint64 // pointer: packed ref of the target DIE (0: void)
	ix      *Index
	resolve bool
}

// Member is a struct or union member.
type Member struct {
	Name string
	Type *Type
	// Offset in bytes of the member (of the storage unit for bit fields).
	Offset int64
	// BitOffset is the offset in bits from the start of the struct;
	// BitSize is 0 unless the member is a bit field.
	BitOffset, BitSize int64
}

// Enumerator is one named value of an enum.
type Enumerator struct {
	Name  string
	Value int64
}

// Elem returns what a typedef, qualifier, array, enum (its underlying
// type, may be nil) or function (return type, nil for void) is made of,
// or a pointer's target (decoded on first use; a Void Type for void *).
func (t *Type) Elem() (*Type, error) {
	if t.Kind != Pointer {
		return t.elem, nil
	}
	if t.target == 0 {
		return voidType, nil
	}
	ix := t.ix
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.typeAt(ix.canonical(t.target), 0, map[uint64]bool{})
}

// canonical maps a pointer target that is a named struct, union or enum
// to the index's definition of that name when it has the same size, so
// that following pointers does not decode each unit's own copy of the
// kernel's types (task_struct reaches some 200,000 DIEs otherwise).
// Members by value keep their unit's definition. ix.mu is held.
func (ix *Index) canonical(ref uint64) uint64 {
	if t := ix.cache[ref]; t != nil {
		return ref
	}
	u, off, err := ix.unitOf(ref)
	if err != nil {
		return ref
	}
	d, err := ix.readDIE(u, off)
	if err != nil || d == nil || !d.hasName {
		return ref
	}
	var k uint8
	switch d.tag {
	case tagStructType:
		k = kStruct
	case tagUnionType:
		k = kUnion
	case tagEnumerationType:
		k = kEnum
	default:
		return ref
	}
	sec, soff, ok, _ := ix.strOffset(u, d.nameV)
	if !ok {
		return ref
	}
	e := ix.names.get(nameKey(k, sec, soff))
	c := e & (typesBit | offMask)
	if e>>qualShift < 2 || c == ref {
		return ref
	}
	if d.decl {
		return c
	}
	cu, coff, err := ix.unitOf(c)
	if err != nil {
		return ref
	}
	cd, err := ix.readDIE(cu, coff)
	if err != nil || cd == nil || d.has&hasByteSize == 0 || cd.has&hasByteSize == 0 || cd.byteSize.u != d.byteSize.u {
		return ref
	}
	return c
}

var voidType = &Type{Kind: Void, Name: "void", Size: -1}

// String renders the type C-style (no declarator syntax beyond *, [] and ()).
func (t *Type) String() string { return t.str(0) }

func (t *Type) str(depth int) string {
	if depth > 32 {
		return "..."
	}
	depth++
	switch t.Kind {
	case Struct, Union, Enum:
		if t.Name == "" {
			return t.Kind.String() + " <anonymous>"
		}
		return t.Kind.String() + " " + t.Name
	case Pointer:
		if t.target == 0 {
			return "void *"
		}
		e, err := t.Elem()
		if err != nil {
			return "? *"
		}
		if e.Kind == Struct || e.Kind == Union || e.Kind == Enum || e.Kind == Typedef || e.Kind == Base || e.Kind == Void {
			return e.str(depth) + " *"
		}
		return "(" + e.str(depth) + ") *"
	case Array:
		n := ""
		if t.Count >= 0 {
			n = strconv.FormatInt(t.Count, 10)
		}
		return t.elem.str(depth) + "[" + n + "]"
	case Const, Volatile, Restrict, Atomic:
		if t.elem == nil {
			return t.Kind.String() + " void"
		}
		return t.Kind.String() + " " + t.elem.str(depth)
	case Func:
		r := "void"
		if t.elem != nil {
			r = t.elem.str(depth)
		}
		var ps []string
		for _, p := range t.Params {
			ps = append(ps, p.str(depth))
		}
		if t.Variadic {
			ps = append(ps, "...")
		}
		return r + " (" + strings.Join(ps, ", ") + ")"
	}
	return t.Name
}

// maxTypeDepth bounds non-pointer nesting (typedef chains, nested arrays
// and structs) in a decoded type.
const maxTypeDepth = 256

// typeAt decodes (or returns the cached) type at a packed reference.
// ix.mu is held.
func (ix *Index) typeAt(ref uint64, depth int, inprog map[uint64]bool) (*Type, error) {
	if t := ix.cache[ref]; t != nil {
		return t, nil
	}
	u, off, err := ix.unitOf(ref)
	if err != nil {
		return nil, err
	}
	if inprog[ref] {
		return nil, fmt.Errorf("%s+%#x: type reference cycle", secNames[u.sec], off)
	}
	if depth > maxTypeDepth {
		return nil, fmt.Errorf("%s+%#x: types nested deeper than %d", secNames[u.sec], off, maxTypeDepth)
	}
	d, err := ix.readDIE(u, off)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("%s+%#x: type reference to a null entry", secNames[u.sec], off)
	}
	inprog[ref] = true
	defer delete(inprog, ref)
	t := &Type{Offset: ref, Size: -1, Count: -1, ix: ix}
	if d.hasName {
		if t.Name, err = ix.strValue(u, d.nameV); err != nil {
			return nil, fmt.Errorf("%s: %w", d.where(), err)
		}
	}
	if d.has&hasByteSize != 0 {
		if n, ok := constant(d.byteSize); ok {
			t.Size = n
		}
	}
	elem := func() error {
		if !d.hasType {
			return nil
		}
		e, err := ix.typeAt(d.typ, depth+1, inprog)
		if err != nil {
			return err
		}
		t.elem = e
		return nil
	}
	switch d.tag {
	case tagBaseType:
		t.Kind, t.Encoding = Base, uint8(d.encoding)
	case tagUnspecType:
		t.Kind = Void
	case tagStructType, tagUnionType, tagEnumerationType:
		t.Kind = map[uint32]Kind{tagStructType: Struct, tagUnionType: Union, tagEnumerationType: Enum}[d.tag]
		if d.decl {
			// Use the complete definition when there is one.
			if t.Name != "" {
				k := map[Kind]uint8{Struct: kStruct, Union: kUnion, Enum: kEnum}[t.Kind]
				var e uint64
				// .debug_str is merged: the same name has the same offset.
				if sec, off, ok, _ := ix.strOffset(u, d.nameV); ok {
					e = ix.names.get(nameKey(k, sec, off))
				}
				if e>>qualShift < 2 {
					e = ix.find(k, t.Name)
				}
				if e>>qualShift >= 2 {
					full, err := ix.typeAt(e&(typesBit|offMask), depth+1, inprog)
					if err != nil {
						return nil, err
					}
					ix.cache[ref] = full
					return full, nil
				}
			}
			t.Declaration = true
			t.Size = -1
			break
		}
		ix.cache[ref] = t // members may point back at it
		if t.Kind == Enum {
			if err := elem(); err != nil {
				delete(ix.cache, ref)
				return nil, err
			}
			if b := Strip(t.elem); b != nil && (b.Encoding == EncSigned || b.Encoding == EncSignedChar) {
				t.Signed = true
			}
		}
		if err := ix.decodeComposite(t, d, depth, inprog); err != nil {
			delete(ix.cache, ref)
			return nil, err
		}
		return t, nil
	case tagTypedef:
		t.Kind = Typedef
		if err := elem(); err != nil {
			return nil, err
		}
	case tagConstType, tagVolatileType, tagRestrictType, tagAtomicType:
		t.Kind = map[uint32]Kind{tagConstType: Const, tagVolatileType: Volatile, tagRestrictType: Restrict, tagAtomicType: Atomic}[d.tag]
		if err := elem(); err != nil {
			return nil, err
		}
	case tagPointerType:
		t.Kind = Pointer
		if t.Size < 0 {
			t.Size = int64(u.addrSize)
		}
		if d.hasType {
			t.target = d.typ
		}
	case tagSubroutineType, tagSubprogram:
		t.Kind = Func
		if err := elem(); err != nil {
			return nil, err
		}
		err := ix.children(d, func(c *die) error {
			switch c.tag {
			case tagFormalParameter:
				if !c.hasType {
					return fmt.Errorf("%s: parameter without a type", c.where())
				}
				p, err := ix.typeAt(c.typ, depth+1, inprog)
				if err != nil {
					return err
				}
				t.Params = append(t.Params, p)
				name := ""
				if c.hasName {
					name, _ = ix.strValue(c.u, c.nameV)
				}
				t.ParamNames = append(t.ParamNames, name)
			case tagUnspecParams:
				t.Variadic = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	case tagArrayType:
		if err := ix.decodeArray(t, d, depth, inprog); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: DIE with tag %#x is not a type", d.where(), d.tag)
	}
	ix.cache[ref] = t
	return t, nil
}

func (ix *Index) decodeArray(t *Type, d *die, depth int, inprog map[uint64]bool) error {
	if !d.hasType {
		return fmt.Errorf("%s: array without an element type", d.where())
	}
	elem, err := ix.typeAt(d.typ, depth+1, inprog)
	if err != nil {
		return err
	}
	var counts []int64
	err = ix.children(d, func(c *die) error {
		if c.tag != tagSubrangeType && c.tag != tagEnumerationType {
			return nil
		}
		if len(counts) >= 64 {
			return fmt.Errorf("%s: more than 64 array dimensions", d.where())
		}
		n := int64(-1)
		switch {
		case c.has&hasCount != 0:
			if v, ok := constant(c.count); ok {
				n = v
			}
		case c.has&hasUpper != 0:
			if _, ok := constant(c.upper); ok {
				// dataN is unsigned (GCC writes 255 as data1 0xff);
				// -1 (zero-length arrays) comes as data8 or sdata.
				ub, _ := constant(c.upper)
				lb := int64(0)
				if c.has&hasLower != 0 {
					lb, _ = constant(c.lower)
				}
				n = ub - lb + 1
				if n < 0 {
					n = 0
				}
			}
		}
		if n < -1 || n > 1<<48 {
			return fmt.Errorf("%s: array count %d out of range", c.where(), n)
		}
		counts = append(counts, n)
		return nil
	})
	if err != nil {
		return err
	}
	if len(counts) == 0 {
		counts = []int64{-1}
	}
	// int a[2][3]: array 2 of array 3 of int.
	for i := len(counts) - 1; i >= 0; i-- {
		a := &Type{Kind: Array, Count: counts[i], elem: elem, Offset: t.Offset, ix: ix, Size: -1}
		if i == 0 {
			a = t
			t.Kind, t.Count, t.elem = Array, counts[i], elem
		}
		es := sizeof(elem, 0)
		switch {
		case a.Count < 0:
			a.Size = 0
		case es >= 0:
			if es > 0 && a.Count > (1<<62)/es {
				return fmt.Errorf("%s: array size overflows", d.where())
			}
			a.Size = a.Count * es
		}
		elem = a
	}
	return nil
}

func (ix *Index) decodeComposite(t *Type, d *die, depth int, inprog map[uint64]bool) error {
	u := d.u
	n := 0
	return ix.children(d, func(c *die) error {
		n++
		if n > 1<<20 {
			return fmt.Errorf("%s: too many children", d.where())
		}
		switch c.tag {
		case tagEnumerator:
			if t.Kind != Enum {
				return nil
			}
			name, err := ix.strValue(u, c.nameV)
			if err != nil {
				return fmt.Errorf("%s: %w", c.where(), err)
			}
			var v int64
			if c.has&hasConst != 0 {
				// GCC writes negative values as sdata (sign-extended
				// by readValue) and others as dataN: unsigned.
				v = int64(c.constV.u)
			}
			t.Enumerators = append(t.Enumerators, Enumerator{Name: name, Value: v})
			return nil
		case tagMember:
		case tagVariable: // static member (C++), not in the layout
			return nil
		default:
			return nil
		}
		if t.Kind == Enum {
			return nil
		}
		m := Member{}
		if c.hasName {
			var err error
			if m.Name, err = ix.strValue(u, c.nameV); err != nil {
				return fmt.Errorf("%s: %w", c.where(), err)
			}
		}
		if !c.hasType {
			return fmt.Errorf("%s: member %q without a type", c.where(), m.Name)
		}
		mt, err := ix.typeAt(c.typ, depth+1, inprog)
		if err != nil {
			return err
		}
		m.Type = mt
		if c.has&hasMemberLoc != 0 {
			off, err := memberLocation(c)
			if err != nil {
				return err
			}
			m.Offset = off
		}
		m.BitOffset = m.Offset * 8
		if c.has&hasBitSize != 0 {
			m.BitSize, _ = constant(c.bitSize)
		}
		switch {
		case c.has&hasDataBitOffset != 0:
			bo, _ := constant(c.dataBitOffset)
			m.BitOffset = bo
			m.Offset = bo / 8
			if m.BitSize > 0 {
				if s := sizeof(mt, 0); s > 0 {
					m.Offset = bo / (s * 8) * s
				}
			}
		case c.has&hasBitOffset != 0:
			// DWARF 2/3: bit offset from the most significant bit of
			// the storage unit (byte_size, else the type's size).
			bo, _ := constant(c.bitOffset)
			su := sizeof(mt, 0)
			if c.has&hasByteSize != 0 {
				su, _ = constant(c.byteSize)
			}
			if su > 0 {
				m.BitOffset = m.Offset*8 + su*8 - bo - m.BitSize
			}
		}
		t.Members = append(t.Members, m)
		return nil
	})
}

// memberLocation evaluates DW_AT_data_member_location: a constant, or an
// expression DW_OP_plus_uconst N / DW_OP_constu N.
func memberLocation(c *die) (int64, error) {
	v := c.memberLoc
	if n, ok := constant(v); ok {
		return n, nil
	}
	if v.form == formExprloc || v.form == formBlock || v.form == formBlock1 || v.form == formBlock2 || v.form == formBlock4 {
		b := v.blk
		if len(b) == 0 {
			return 0, nil
		}
		switch b[0] {
		case opPlusUconst, opConstu:
			n, np, ok := uleb(b, 1)
			if ok && np == len(b) {
				return int64(n), nil
			}
		}
		return 0, fmt.Errorf("%s: unsupported DW_AT_data_member_location expression % x", c.where(), b)
	}
	return 0, fmt.Errorf("%s: unsupported DW_AT_data_member_location form %#x", c.where(), v.form)
}

// sizeof is the size of t in bytes, following typedefs and qualifiers; -1
// when unknown.
func sizeof(t *Type, depth int) int64 {
	for i := 0; t != nil && i <= maxTypeDepth; i++ {
		switch t.Kind {
		case Typedef, Const, Volatile, Restrict, Atomic:
			if t.Size >= 0 {
				return t.Size
			}
			t = t.elem
			continue
		case Enum:
			if t.Size < 0 && t.elem != nil {
				return sizeof(t.elem, depth+1)
			}
		}
		return t.Size
	}
	return -1
}

// Strip follows typedefs and qualifiers.
func Strip(t *Type) *Type {
	for i := 0; t != nil && i <= maxTypeDepth; i++ {
		switch t.Kind {
		case Typedef, Const, Volatile, Restrict, Atomic:
			if t.elem == nil {
				return voidType
			}
			t = t.elem
			continue
		}
		return t
	}
	return t
}

// LookupType finds a type by name: "struct task_struct", "union x",
// "enum y", or a bare name (a complete struct or union first, then
// typedefs, base types, enums). A complete definition is preferred over a
// declaration.
func (ix *Index) LookupType(name string) (*Type, error) {
	kinds, bare := splitKind(name)
	if bare == "void" {
		return voidType, nil
	}
	var best uint64
	for _, k := range kinds {
		if e := ix.find(k, bare); e != 0 && (best == 0 || e>>qualShift > best>>qualShift) {
			best = e
		}
	}
	if best == 0 {
		return nil, fmt.Errorf("type %q: %w", name, ErrNotFound)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.typeAt(best&(typesBit|offMask), 0, map[uint64]bool{})
}

// LookupKind finds a named type of one kind: Struct, Union, Enum,
// Typedef or Base ("task_struct", Struct is "struct task_struct").
func (ix *Index) LookupKind(name string, k Kind) (*Type, error) {
	ik := map[Kind]uint8{Struct: kStruct, Union: kUnion, Enum: kEnum, Typedef: kTypedef, Base: kBase, Void: kUnspec}[k]
	if ik == kNone {
		return nil, fmt.Errorf("type %q: kind %s is not named", name, k)
	}
	e := ix.find(ik, strings.TrimSpace(name))
	if e == 0 {
		return nil, fmt.Errorf("%s %q: %w", k, name, ErrNotFound)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.typeAt(e&(typesBit|offMask), 0, map[uint64]bool{})
}

// Sizeof returns the size of a named type.
func (ix *Index) Sizeof(name string) (int64, error) {
	t, err := ix.LookupType(name)
	if err != nil {
		return 0, err
	}
	n := sizeof(t, 0)
	if n < 0 {
		return 0, fmt.Errorf("type %q has no known size", name)
	}
	return n, nil
}

// MemberOffset returns the byte offset of a member path "a.b.c" (array
// elements as "a[3].b") in t, searching anonymous struct/union members, and
// the member's type. For bit fields the offset is the storage unit's.
func MemberOffset(t *Type, path string) (int64, *Type, error) {
	var off int64
	cur := t
	for _, part := range strings.Split(path, ".") {
		idx := []int64{}
		name := part
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			rest := part[i:]
			for rest != "" {
				if rest[0] != '[' {
					return 0, nil, fmt.Errorf("bad member path %q", path)
				}
				j := strings.IndexByte(rest, ']')
				if j < 0 {
					return 0, nil, fmt.Errorf("bad member path %q", path)
				}
				n, err := strconv.ParseInt(strings.TrimSpace(rest[1:j]), 0, 64)
				if err != nil {
					return 0, nil, fmt.Errorf("bad index in %q", path)
				}
				idx = append(idx, n)
				rest = rest[j+1:]
			}
		}
		if name != "" {
			s := Strip(cur)
			if s.Kind != Struct && s.Kind != Union {
				return 0, nil, fmt.Errorf("%s is not a struct or union (looking for %q)", cur, name)
			}
			o, mt, ok := findMember(s, name, 0)
			if !ok {
				return 0, nil, fmt.Errorf("%s has no member %q: %w", s, name, ErrNotFound)
			}
			off += o
			cur = mt
		}
		for _, n := range idx {
			s := Strip(cur)
			if s.Kind != Array {
				return 0, nil, fmt.Errorf("%s is not an array", cur)
			}
			es := sizeof(s.elem, 0)
			if es < 0 {
				return 0, nil, fmt.Errorf("%s: element size unknown", cur)
			}
			off += n * es
			cur = s.elem
		}
	}
	return off, cur, nil
}

func findMember(s *Type, name string, depth int) (int64, *Type, bool) {
	if depth > 32 {
		return 0, nil, false
	}
	for i := range s.Members {
		m := &s.Members[i]
		if m.Name == name {
			return m.Offset, m.Type, true
		}
	}
	for i := range s.Members {
		m := &s.Members[i]
		if m.Name != "" {
			continue
		}
		if a := Strip(m.Type); a.Kind == Struct || a.Kind == Union {
			if o, t, ok := findMember(a, name, depth+1); ok {
				return m.Offset + o, t, true
			}
		}
	}
	return 0, nil, false
}

// Var is a global variable.
type Var struct {
	Name string
	// Addr is the link-time address (for a module: its offset in its
	// section, relocations applied against section address 0); HasAddr is
	// false when the DIE has no static location.
	Addr    uint64
	HasAddr bool
	Type    *Type
}

// Variable finds a global (or static file-scope) variable.
func (ix *Index) Variable(name string) (*Var, error) {
	e := ix.find(kVar, name)
	if e == 0 {
		return nil, fmt.Errorf("variable %q: %w", name, ErrNotFound)
	}
	u, off, err := ix.unitOf(e & (typesBit | offMask))
	if err != nil {
		return nil, err
	}
	d, err := ix.readDIE(u, off)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("%s+%#x: null entry", secNames[u.sec], off)
	}
	v := &Var{Name: name}
	if d.has&hasLoc != 0 && (d.loc.form == formExprloc || d.loc.form == formBlock1 || d.loc.form == formBlock) {
		v.Addr, v.HasAddr = ix.staticAddr(u, d.loc.blk)
	}
	typ, hasType := d.typ, d.hasType
	for i := 0; !hasType && d.spec != 0 && i < 4; i++ {
		su := ix.findUnit(u.sec, d.spec)
		if su == nil {
			break
		}
		if d, err = ix.readDIE(su, d.spec); err != nil || d == nil {
			break
		}
		typ, hasType = d.typ, d.hasType
	}
	if hasType {
		ix.mu.Lock()
		v.Type, err = ix.typeAt(typ, 0, map[uint64]bool{})
		ix.mu.Unlock()
		if err != nil {
			return nil, err
		}
	} else {
		v.Type = voidType
	}
	return v, nil
}

// staticAddr evaluates a location that is a single DW_OP_addr/addrx.
func (ix *Index) staticAddr(u *unit, b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch b[0] {
	case opAddr:
		n := int(u.addrSize)
		if len(b) != 1+n {
			return 0, false
		}
		return readUint(b, 1, n), true
	case opAddrx, opGNUAddrIdx:
		i, np, ok := uleb(b, 1)
		if !ok || np != len(b) {
			return 0, false
		}
		n := uint64(u.addrSize)
		p := u.addrBase + i*n
		if i > uint64(len(ix.addr)) || p+n > uint64(len(ix.addr)) {
			return 0, false
		}
		return readUint(ix.addr, int(p), int(n)), true
	}
	return 0, false
}

// Enumerator returns the value of a named enumerator and its enum type.
func (ix *Index) Enumerator(name string) (int64, *Type, error) {
	e := ix.find(kEnumerator, name)
	if e == 0 {
		return 0, nil, fmt.Errorf("enumerator %q: %w", name, ErrNotFound)
	}
	ix.mu.Lock()
	t, err := ix.typeAt(e&(typesBit|offMask), 0, map[uint64]bool{})
	ix.mu.Unlock()
	if err != nil {
		return 0, nil, err
	}
	for _, en := range t.Enumerators {
		if en.Name == name {
			return en.Value, t, nil
		}
	}
	return 0, nil, fmt.Errorf("enumerator %q: %w in %s", name, ErrNotFound, t)
}

// FuncType returns the type of a named function (Kind Func: return type
// as Elem, parameter types).
func (ix *Index) FuncType(name string) (*Type, error) {
	e := ix.find(kFunc, name)
	if e == 0 {
		return nil, fmt.Errorf("function %q: %w", name, ErrNotFound)
	}
	ref := e & (typesBit | offMask)
	// A concrete out-of-line instance names its abstract origin.
	for i := 0; i < 4; i++ {
		u, off, err := ix.unitOf(ref)
		if err != nil {
			return nil, err
		}
		d, err := ix.readDIE(u, off)
		if err != nil {
			return nil, err
		}
		if d == nil || d.spec == 0 {
			break
		}
		ref = d.spec | ref&typesBit
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.typeAt(ref, 0, map[uint64]bool{})
}

// Function returns the entry address (DW_AT_low_pc) of a named function.
func (ix *Index) Function(name string) (uint64, error) {
	e := ix.find(kFunc, name)
	if e == 0 {
		return 0, fmt.Errorf("function %q: %w", name, ErrNotFound)
	}
	u, off, err := ix.unitOf(e & (typesBit | offMask))
	if err != nil {
		return 0, err
	}
	d, err := ix.readDIE(u, off)
	if err != nil {
		return 0, err
	}
	if d == nil || d.has&hasLowPC == 0 {
		return 0, fmt.Errorf("function %q: %w (declaration or inlined only)", name, errNoCode)
	}
	pc := d.lowPC
	switch pc.form {
	case formAddr:
		return pc.u, nil
	case formAddrx, formAddrx1, formAddrx2, formAddrx3, formAddrx4, formGNUAddrIndex:
		n := uint64(u.addrSize)
		p := u.addrBase + pc.u*n
		if pc.u > uint64(len(ix.addr)) || p+n > uint64(len(ix.addr)) {
			return 0, fmt.Errorf("%s+%#x: .debug_addr index %d out of range", secNames[u.sec], off, pc.u)
		}
		return readUint(ix.addr, int(p), int(n)), nil
	}
	return 0, fmt.Errorf("%s+%#x: unsupported DW_AT_low_pc form %#x", secNames[u.sec], off, pc.form)
}

var errNoCode = errors.New("no code")

// SizeOf is the size of t in bytes, following typedefs and qualifiers; -1
// when it has none (void, functions, incomplete types).
func SizeOf(t *Type) int64 { return sizeof(t, 0) }
