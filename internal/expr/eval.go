package expr

import (
	"errors"
	"fmt"
	"strings"

	"kdive/internal/types"
)

// Eval parses and evaluates s.
func Eval(env Env, s string) (*Value, error) {
	n, err := Parse(s, IsTypeFunc(env))
	if err != nil {
		return nil, err
	}
	return EvalNode(env, n)
}

// IsTypeFunc returns the identifier test Parse needs: a name that is a
// typedef or base type and not a symbol.
func IsTypeFunc(env Env) func(string) bool {
	return func(name string) bool {
		if _, _, ok := env.Symbol(name); ok {
			return false
		}
		reg := env.Types()
		if reg == nil {
			return false
		}
		t, err := reg.LookupType(name)
		if err != nil {
			return false
		}
		switch t.Kind {
		case types.Typedef, types.Int, types.Bool, types.Float, types.Void:
			return t.Name == name || types.Builtin(name) != nil
		}
		return false
	}
}

var (
	tInt   = types.Builtin("int")
	tUInt  = types.Builtin("unsigned int")
	tLong  = types.Builtin("long")
	tULong = types.Builtin("unsigned long")
	tyChar = types.Builtin("char")
)

// EvalNode evaluates a parsed expression.
func EvalNode(env Env, n *Node) (*Value, error) {
	e := &evaluator{env: env}
	return e.eval(n)
}

type evaluator struct{ env Env }

func (e *evaluator) eval(n *Node) (*Value, error) {
	switch n.Op {
	case "num":
		t := tInt
		switch {
		case n.Long && n.Unsigned:
			t = tULong
		case n.Long:
			t = tLong
		case n.Unsigned:
			t = tUInt
		}
		return NewUint(e.env, t, n.Num), nil
	case "char":
		return NewUint(e.env, tyChar, n.Num), nil
	case "str":
		return nil, fmt.Errorf("string literals are not supported")
	case "ident":
		return e.ident(n.S)
	case "cast":
		t, err := e.typeOf(n.Type)
		if err != nil {
			return nil, err
		}
		x, err := e.eval(n.X)
		if err != nil {
			return nil, err
		}
		return Cast(x, t)
	case "sizeof_t":
		t, err := e.typeOf(n.Type)
		if err != nil {
			return nil, err
		}
		return NewUint(e.env, tULong, t.Size), nil
	case "sizeof":
		x, err := e.eval(n.X)
		if err != nil {
			return nil, err
		}
		return NewUint(e.env, tULong, x.Type.Size), nil
	case "member", "arrow":
		x, err := e.eval(n.X)
		if err != nil {
			return nil, err
		}
		if n.Op == "arrow" && x.Type.Strip().Kind != types.Pointer && !x.Type.IsComposite() {
			return nil, fmt.Errorf("The -> operator must be applied to a pointer or structure.")
		}
		return x.Member(n.S)
	case "index":
		x, err := e.eval(n.X)
		if err != nil {
			return nil, err
		}
		i, err := e.eval(n.Y)
		if err != nil {
			return nil, err
		}
		iv, err := i.Int()
		if err != nil {
			return nil, err
		}
		return x.Index(iv)
	case "unary":
		return e.unary(n)
	case "binary":
		return e.binary(n)
	case "cond":
		c, err := e.eval(n.X)
		if err != nil {
			return nil, err
		}
		cv, err := c.Uint()
		if err != nil {
			return nil, err
		}
		if cv != 0 {
			return e.eval(n.Y)
		}
		return e.eval(n.Z)
	}
	return nil, fmt.Errorf("unsupported expression")
}

func (e *evaluator) typeOf(name string) (*types.Type, error) {
	reg := e.env.Types()
	if reg == nil {
		reg = types.NewRegistry()
	}
	t, err := reg.ParseTypeName(name)
	if err != nil {
		if errors.Is(err, types.ErrNotFound) {
			return nil, fmt.Errorf("No %s.", noTypeName(name))
		}
		return nil, err
	}
	return t, nil
}

func noTypeName(name string) string {
	for _, k := range []string{"struct ", "union ", "enum "} {
		if len(name) > len(k) && name[:len(k)] == k {
			rest := name[len(k):]
			for i := 0; i < len(rest); i++ {
				if rest[i] == ' ' || rest[i] == '*' || rest[i] == '[' {
					rest = rest[:i]
					break
				}
			}
			return k[:len(k)-1] + " type named " + rest
		}
	}
	return "symbol \"" + name + "\" in current context"
}

// HistoryEnv is an Env with gdb's value history: $N, $, $$, $$N.
type HistoryEnv interface {
	History(name string) (*Value, bool)
}

func (e *evaluator) ident(name string) (*Value, error) {
	if strings.HasPrefix(name, "$") {
		if h, ok := e.env.(HistoryEnv); ok {
			if v, ok := h.History(name); ok {
				return v, nil
			}
		}
		return nil, fmt.Errorf("History has not yet reached %s.", name)
	}
	if addr, text, ok := e.env.Symbol(name); ok {
		var t *types.Type
		if reg := e.env.Types(); reg != nil {
			t, _ = reg.LookupVar(name)
		}
		v := &Value{LVal: true, Addr: addr, env: e.env, Sym: name}
		switch {
		case t != nil:
			v.Type = t
		case text:
			v.Type = &types.Type{Kind: types.Func, Elem: tInt, Variadic: true}
			v.NoDebug = true
		default:
			v.Type = tULong
			v.NoDebug = true
		}
		return v, nil
	}
	if reg := e.env.Types(); reg != nil {
		if t, val, err := reg.LookupEnumerator(name); err == nil {
			return NewUint(e.env, t, uint64(val)), nil
		}
	}
	return nil, fmt.Errorf("No symbol \"%s\" in current context.", name)
}

// Cast converts x to type t: scalars by value, anything in memory by
// reinterpreting its address (gdb's (struct foo *)ADDR, and
// (struct foo)lvalue).
func Cast(x *Value, t *types.Type) (*Value, error) {
	st := t.Strip()
	switch st.Kind {
	case types.Struct, types.Union, types.Array:
		if x.LVal {
			return &Value{Type: t, LVal: true, Addr: x.Addr, env: x.env}, nil
		}
		return nil, fmt.Errorf("Invalid cast.")
	case types.Void:
		return &Value{Type: t, env: x.env, data: []byte{}}, nil
	case types.Float:
		f, err := x.Float()
		if err != nil {
			return nil, err
		}
		_ = f
		return nil, fmt.Errorf("casts to floating point are not supported")
	}
	u, err := x.Uint()
	if err != nil {
		return nil, err
	}
	if st.Kind == types.Bool {
		if u != 0 {
			u = 1
		}
	}
	return NewUint(x.env, t, truncate(u, st.Size, st.Signed)), nil
}

func truncate(u uint64, size uint64, signed bool) uint64 {
	if size >= 8 || size == 0 {
		return u
	}
	u &= 1<<(8*size) - 1
	if signed && u&(1<<(8*size-1)) != 0 {
		u |= ^uint64(0) << (8 * size)
	}
	return u
}

func (e *evaluator) unary(n *Node) (*Value, error) {
	x, err := e.eval(n.X)
	if err != nil {
		return nil, err
	}
	switch n.S {
	case "&":
		if x.Type.Strip().Kind == types.Func && x.LVal {
			return NewUint(e.env, types.PointerTo(x.Type), x.Addr), nil
		}
		return x.AddrOf()
	case "*":
		return x.Deref()
	case "+":
		return promote(x)
	case "-", "~":
		p, err := promote(x)
		if err != nil {
			return nil, err
		}
		u, _ := p.Uint()
		if n.S == "-" {
			u = -u
		} else {
			u = ^u
		}
		return NewUint(e.env, p.Type, truncate(u, p.Type.Size, p.Type.IsSigned())), nil
	case "!":
		u, err := x.Uint()
		if err != nil {
			return nil, err
		}
		r := uint64(0)
		if u == 0 {
			r = 1
		}
		return NewUint(e.env, tInt, r), nil
	}
	return nil, fmt.Errorf("unsupported operator %s", n.S)
}

// promote applies C's integer promotions.
func promote(x *Value) (*Value, error) {
	st := x.Type.Strip()
	if st.Kind == types.Pointer {
		return x, nil
	}
	if !x.Type.IsInteger() {
		return nil, fmt.Errorf("Argument to arithmetic operation not a number or boolean.")
	}
	u, err := x.Uint()
	if err != nil {
		return nil, err
	}
	if st.Size < 4 || (st.Size == 4 && st.Kind != types.Int) {
		if st.Size == 4 && !st.Signed && st.Kind == types.Enum {
			return NewUint(x.env, tUInt, u), nil
		}
		return NewUint(x.env, tInt, truncate(u, 4, true)), nil
	}
	if st.Kind != types.Int {
		t := tLong
		if st.Size == 4 {
			t = tInt
		}
		return NewUint(x.env, t, u), nil
	}
	return &Value{Type: st, env: x.env, data: mustBytes(x, u)}, nil
}

func mustBytes(x *Value, u uint64) []byte {
	v := NewUint(x.env, x.Type.Strip(), u)
	return v.data
}

// arith returns the common type of two promoted integer operands.
func arith(a, b *types.Type) *types.Type {
	a, b = a.Strip(), b.Strip()
	if a.Size != b.Size {
		if a.Size > b.Size {
			return a
		}
		return b
	}
	if !a.Signed {
		return a
	}
	return b
}

func isPtr(v *Value) bool {
	k := v.Type.Strip().Kind
	return k == types.Pointer || k == types.Array
}

func elemSize(v *Value) uint64 {
	st := v.Type.Strip()
	if st.Elem == nil {
		return 1
	}
	s := st.Elem.Size
	if s == 0 {
		return 1 // void * and function pointers step by 1, as in gdb
	}
	return s
}

func ptrType(v *Value) *types.Type {
	st := v.Type.Strip()
	if st.Kind == types.Array {
		return types.PointerTo(st.Elem)
	}
	return v.Type
}

func (e *evaluator) binary(n *Node) (*Value, error) {
	x, err := e.eval(n.X)
	if err != nil {
		return nil, err
	}
	switch n.S {
	case "&&", "||":
		xv, err := x.Uint()
		if err != nil {
			return nil, err
		}
		if n.S == "&&" && xv == 0 || n.S == "||" && xv != 0 {
			return NewUint(e.env, tInt, boolU(n.S == "||")), nil
		}
		y, err := e.eval(n.Y)
		if err != nil {
			return nil, err
		}
		yv, err := y.Uint()
		if err != nil {
			return nil, err
		}
		return NewUint(e.env, tInt, boolU(yv != 0)), nil
	case ",":
		return e.eval(n.Y)
	}
	y, err := e.eval(n.Y)
	if err != nil {
		return nil, err
	}
	if n.S == "@" {
		return Artificial(x, y)
	}
	return Binary(n.S, x, y)
}

// Artificial is gdb's binary '@': an array of n objects like x, starting
// at x's address.
func Artificial(x, n *Value) (*Value, error) {
	if !x.LVal || x.BitSize != 0 {
		return nil, fmt.Errorf("Only values in memory can be extended with '@'.")
	}
	c, err := n.Int()
	if err != nil {
		return nil, err
	}
	if c <= 0 {
		return nil, fmt.Errorf("Invalid number %d of repetitions.", c)
	}
	return &Value{Type: types.ArrayOf(x.Type, uint64(c)), LVal: true, Addr: x.Addr, env: x.env}, nil
}

func boolU(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Binary applies a binary operator with C's typing, including pointer
// arithmetic (pointer ± integer scales by the element size; pointer -
// pointer counts elements, typed long).
func Binary(op string, x, y *Value) (*Value, error) {
	env := x.env
	xp, yp := isPtr(x), isPtr(y)
	if xp || yp {
		switch op {
		case "+", "-":
			if xp && yp && op == "-" {
				a, _ := x.Uint()
				b, _ := y.Uint()
				return NewUint(env, tLong, uint64(int64(a-b)/int64(elemSize(x)))), nil
			}
			if xp && yp {
				break
			}
			p, i := x, y
			if yp {
				if op == "-" {
					break
				}
				p, i = y, x
			}
			a, err := p.Uint()
			if err != nil {
				return nil, err
			}
			iv, err := i.Int()
			if err != nil {
				return nil, err
			}
			d := uint64(iv) * elemSize(p)
			if op == "-" {
				d = -d
			}
			return NewUint(env, ptrType(p), a+d), nil
		case "==", "!=", "<", ">", "<=", ">=":
			a, err := x.Uint()
			if err != nil {
				return nil, err
			}
			b, err := y.Uint()
			if err != nil {
				return nil, err
			}
			return NewUint(env, tInt, boolU(compare(op, a, b, false))), nil
		}
		// Pointers in other integer operations act as unsigned long.
		if xp {
			a, _ := x.Uint()
			x = NewUint(env, tULong, a)
		}
		if yp {
			b, _ := y.Uint()
			y = NewUint(env, tULong, b)
		}
	}
	px, err := promote(x)
	if err != nil {
		return nil, err
	}
	py, err := promote(y)
	if err != nil {
		return nil, err
	}
	a, _ := px.Uint()
	b, _ := py.Uint()
	t := arith(px.Type, py.Type)
	if op == "<<" || op == ">>" {
		t = px.Type.Strip()
	}
	signed := t.Signed
	var r uint64
	switch op {
	case "+":
		r = a + b
	case "-":
		r = a - b
	case "*":
		r = a * b
	case "/", "%":
		if b == 0 {
			return nil, fmt.Errorf("Division by zero")
		}
		if signed {
			if op == "/" {
				r = uint64(int64(a) / int64(b))
			} else {
				r = uint64(int64(a) % int64(b))
			}
		} else if op == "/" {
			r = a / b
		} else {
			r = a % b
		}
	case "&":
		r = a & b
	case "|":
		r = a | b
	case "^":
		r = a ^ b
	case "<<":
		r = a << (b & 63)
	case ">>":
		if signed {
			r = uint64(int64(a) >> (b & 63))
		} else {
			r = a >> (b & 63)
		}
	case "==", "!=", "<", ">", "<=", ">=":
		return NewUint(env, tInt, boolU(compare(op, a, b, signed))), nil
	default:
		return nil, fmt.Errorf("unsupported operator %s", op)
	}
	return NewUint(env, t, truncate(r, t.Size, signed)), nil
}

func compare(op string, a, b uint64, signed bool) bool {
	lt := a < b
	if signed {
		lt = int64(a) < int64(b)
	}
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return lt
	case ">":
		return !lt && a != b
	case "<=":
		return lt || a == b
	case ">=":
		return !lt
	}
	return false
}
