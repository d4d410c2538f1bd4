package expr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"kdive/internal/dump"
	"kdive/internal/mem"
	"kdive/internal/types"
)

// Env is what evaluation needs from a program: memory, symbols and types.
type Env interface {
	ReadAt(b []byte, addr uint64) (int, error)
	// Symbol returns a symbol's address and whether it is in text (a
	// function) or data.
	Symbol(name string) (addr uint64, text bool, ok bool)
	Types() *types.Registry
}

// Value is a typed value: an lvalue in memory (Addr, read lazily) or a
// computed value (its bytes).
type Value struct {
	Type *types.Type
	// LVal: the value lives at Addr (BitSize != 0: a bitfield whose first
	// bit is bit BitOffset of the byte at Addr).
	LVal      bool
	Addr      uint64
	BitOffset uint64
	BitSize   uint64
	// NoDebug: a symbol with no type information, typed as unsigned long
	// (data) or a function returning int (text), as gdb's
	// <data variable, no debug info>.
	NoDebug bool
	// Sym: the symbol this value is, when the expression is a bare symbol.
	Sym string

	env  Env
	data []byte
}

// ErrFault is wrapped by errors reading memory.
var ErrFault = errors.New("cannot access memory")

// FaultError is a read that failed at an address.
type FaultError struct {
	Addr uint64
	Err  error
}

func (e *FaultError) Error() string {
	msg := fmt.Sprintf("Cannot access memory at address %#x", e.Addr)
	var ex *dump.ExcludedError
	var np *dump.NotPresentError
	switch {
	case errors.As(e.Err, &ex):
		msg += " (page excluded from the dump)"
	case errors.As(e.Err, &np):
		msg += " (not in the dump)"
	}
	return msg
}
func (e *FaultError) Unwrap() []error { return []error{ErrFault, e.Err} }

// Env returns the environment the value reads from.
func (v *Value) Env() Env { return v.env }

// Bytes returns the value's bytes (Type.Size of them), reading memory on
// first use.
func (v *Value) Bytes() ([]byte, error) {
	if v.data != nil {
		return v.data, nil
	}
	if !v.LVal {
		return nil, fmt.Errorf("value has no contents")
	}
	n := v.Type.Size
	if v.BitSize != 0 {
		n = (v.BitOffset + v.BitSize + 7) / 8
	}
	if n > 64<<20 {
		return nil, fmt.Errorf("value of %d bytes is too large", n)
	}
	b := make([]byte, n)
	if n > 0 {
		if err := readFull(v.env, b, v.Addr); err != nil {
			return nil, err
		}
	}
	v.data = b
	return b, nil
}

func readFull(env Env, b []byte, addr uint64) error {
	n, err := env.ReadAt(b, addr)
	if err != nil || n < len(b) {
		fa := addr + uint64(n)
		var fe *mem.FaultError
		if errors.As(err, &fe) {
			fa = fe.Addr
		}
		return &FaultError{Addr: fa, Err: err}
	}
	return nil
}

// Uint returns a scalar value as 64 bits: integers sign- or zero-extended
// by their type, pointers as addresses, bitfields extracted.
func (v *Value) Uint() (uint64, error) {
	st := v.Type.Strip()
	switch st.Kind {
	case types.Int, types.Bool, types.Enum, types.Pointer:
	case types.Array, types.Func:
		if v.LVal {
			return v.Addr, nil
		}
		return 0, fmt.Errorf("array value has no address")
	case types.Float:
		f, err := v.Float()
		return uint64(int64(f)), err
	default:
		return 0, fmt.Errorf("value of type %s is not a scalar", v.Type)
	}
	b, err := v.Bytes()
	if err != nil {
		return 0, err
	}
	var x uint64
	if v.BitSize != 0 {
		var buf [16]byte
		copy(buf[:], b)
		lo := binary.LittleEndian.Uint64(buf[:8])
		hi := binary.LittleEndian.Uint64(buf[8:])
		sh := v.BitOffset
		x = lo >> sh
		if sh > 0 {
			x |= hi << (64 - sh)
		}
		if v.BitSize < 64 {
			x &= 1<<v.BitSize - 1
			if st.Signed && x&(1<<(v.BitSize-1)) != 0 {
				x |= ^uint64(0) << v.BitSize
			}
		}
		return x, nil
	}
	return extend(b, st.Size, st.Signed), nil
}

func extend(b []byte, size uint64, signed bool) uint64 {
	var x uint64
	switch size {
	case 1:
		x = uint64(b[0])
		if signed {
			x = uint64(int64(int8(x)))
		}
	case 2:
		x = uint64(binary.LittleEndian.Uint16(b))
		if signed {
			x = uint64(int64(int16(x)))
		}
	case 4:
		x = uint64(binary.LittleEndian.Uint32(b))
		if signed {
			x = uint64(int64(int32(x)))
		}
	default:
		if len(b) >= 8 {
			x = binary.LittleEndian.Uint64(b)
		}
	}
	return x
}

// Float returns a floating-point value.
func (v *Value) Float() (float64, error) {
	st := v.Type.Strip()
	if st.Kind != types.Float {
		u, err := v.Uint()
		if err != nil {
			return 0, err
		}
		if st.Signed {
			return float64(int64(u)), nil
		}
		return float64(u), nil
	}
	b, err := v.Bytes()
	if err != nil {
		return 0, err
	}
	switch st.Size {
	case 4:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
	case 8:
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	}
	return 0, fmt.Errorf("unsupported float size %d", st.Size)
}

// Int returns a scalar value as a signed number.
func (v *Value) Int() (int64, error) {
	u, err := v.Uint()
	return int64(u), err
}

// Member returns member name of a struct/union value (pointers to
// structs are followed, as gdb does).
func (v *Value) Member(name string) (*Value, error) {
	s := v
	for i := 0; s.Type.Strip().Kind == types.Pointer && i < 4; i++ {
		d, err := s.Deref()
		if err != nil {
			return nil, err
		}
		s = d
	}
	st := s.Type.Strip()
	if st.Kind != types.Struct && st.Kind != types.Union {
		return nil, fmt.Errorf("Attempt to extract a component of a value that is not a structure.")
	}
	f, ok := st.FindMember(name)
	if !ok {
		return nil, fmt.Errorf("There is no member named %s.", name)
	}
	return s.field(f.Member)
}

// Field returns the value of member m of struct value v (m from v's type).
func (v *Value) Field(m types.Member) (*Value, error) { return v.field(m) }

func (v *Value) field(m types.Member) (*Value, error) {
	r := &Value{Type: m.Type, env: v.env}
	if m.BitSize != 0 {
		r.BitSize = m.BitSize
		r.BitOffset = m.BitOffset % 8
	}
	if v.LVal {
		r.LVal = true
		r.Addr = v.Addr + m.BitOffset/8
		if v.data != nil {
			r.data = sliceOr(v.data, m.BitOffset/8, r.size())
		}
		return r, nil
	}
	r.data = sliceOr(v.data, m.BitOffset/8, r.size())
	if r.data == nil {
		return nil, fmt.Errorf("member %s outside the value", m.Name)
	}
	return r, nil
}

func (v *Value) size() uint64 {
	if v.BitSize != 0 {
		return (v.BitOffset + v.BitSize + 7) / 8
	}
	return v.Type.Size
}

func sliceOr(b []byte, off, n uint64) []byte {
	if b == nil || off+n > uint64(len(b)) {
		return nil
	}
	return b[off : off+n : off+n]
}

// Deref follows a pointer (or takes element 0 of an array).
func (v *Value) Deref() (*Value, error) {
	st := v.Type.Strip()
	switch st.Kind {
	case types.Pointer:
		a, err := v.Uint()
		if err != nil {
			return nil, err
		}
		et := st.Elem
		if et == nil || et.Strip().Kind == types.Void {
			return nil, fmt.Errorf("Attempt to take contents of a non-pointer value.")
		}
		return &Value{Type: et, LVal: true, Addr: a, env: v.env}, nil
	case types.Array:
		return v.Index(0)
	case types.Func:
		return v, nil
	}
	if v.Type.IsInteger() {
		// gdb: *INTEGER reads a long at that address.
		a, err := v.Uint()
		if err != nil {
			return nil, err
		}
		return &Value{Type: types.Builtin("long"), LVal: true, Addr: a, env: v.env}, nil
	}
	return nil, fmt.Errorf("Attempt to take contents of a non-pointer value.")
}

// Index returns element i of an array or pointer.
func (v *Value) Index(i int64) (*Value, error) {
	st := v.Type.Strip()
	switch st.Kind {
	case types.Array:
		et := st.Elem
		r := &Value{Type: et, env: v.env}
		off := uint64(i) * et.Size
		if v.LVal {
			r.LVal, r.Addr = true, v.Addr+off
			return r, nil
		}
		if i < 0 || uint64(i) >= st.Len {
			return nil, fmt.Errorf("no such vector element")
		}
		r.data = sliceOr(v.data, off, et.Size)
		return r, nil
	case types.Pointer:
		a, err := v.Uint()
		if err != nil {
			return nil, err
		}
		et := st.Elem
		if et == nil || et.Strip().Kind == types.Void {
			return nil, fmt.Errorf("Attempt to take contents of a non-pointer value.")
		}
		return &Value{Type: et, LVal: true, Addr: a + uint64(i)*et.Size, env: v.env}, nil
	}
	return nil, fmt.Errorf("cannot subscript something of type `%s'", v.Type)
}

// AddrOf returns &v.
func (v *Value) AddrOf() (*Value, error) {
	if !v.LVal {
		return nil, fmt.Errorf("Attempt to take address of value not located in memory.")
	}
	if v.BitSize != 0 {
		return nil, fmt.Errorf("Attempt to take address of value not located in memory.")
	}
	return NewUint(v.env, types.PointerTo(v.Type), v.Addr), nil
}

// NewUint makes a computed scalar of type t.
func NewUint(env Env, t *types.Type, x uint64) *Value {
	n := t.Size
	if n == 0 || n > 8 {
		n = 8
	}
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, x)
	return &Value{Type: t, env: env, data: b[:n]}
}

// At returns an lvalue of type t at addr.
func At(env Env, t *types.Type, addr uint64) *Value {
	return &Value{Type: t, LVal: true, Addr: addr, env: env}
}
