// Package btfx answers type questions (member offsets, sizes) from BTF: the
// vmlinux's .BTF section or the BTF the running kernel keeps in memory
// (__start_BTF..__stop_BTF), parsed with github.com/cilium/ebpf/btf.
package btfx

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// Types is a parsed BTF blob.
type Types struct {
	Spec   *btf.Spec
	Source string // where it came from, for `help -v`

	mu    sync.Mutex
	cache map[string]btf.Type
}

// MaxSize caps a BTF blob read from a dump.
const MaxSize = 64 << 20

// Load parses raw BTF (the contents of a .BTF section).
func Load(raw []byte, source string) (*Types, error) {
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("%s: BTF of %d bytes is larger than the %d-byte cap", source, len(raw), MaxSize)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: parsing BTF: %w", source, err)
	}
	return &Types{Spec: spec, Source: source, cache: map[string]btf.Type{}}, nil
}

// ErrNotFound is an unknown type or member.
var ErrNotFound = errors.New("not found")

// Lookup finds a named type: "task_struct", "struct task_struct",
// "union x", "enum y" or a typedef/base type name.
func (t *Types) Lookup(name string) (btf.Type, error) {
	name = strings.TrimSpace(name)
	t.mu.Lock()
	if ty, ok := t.cache[name]; ok {
		t.mu.Unlock()
		return ty, nil
	}
	t.mu.Unlock()
	kind, bare := "", name
	for _, k := range []string{"struct ", "union ", "enum "} {
		if strings.HasPrefix(name, k) {
			kind, bare = strings.TrimSpace(k), strings.TrimSpace(name[len(k):])
		}
	}
	types, err := t.Spec.AnyTypesByName(bare)
	if err != nil || len(types) == 0 {
		return nil, fmt.Errorf("type %q: %w", name, ErrNotFound)
	}
	var best btf.Type
	for _, ty := range types {
		ok := false
		switch ty.(type) {
		case *btf.Struct:
			ok = kind == "" || kind == "struct"
		case *btf.Union:
			ok = kind == "" || kind == "union"
		case *btf.Enum:
			ok = kind == "" || kind == "enum"
		case *btf.Fwd:
			ok = false
		default:
			ok = kind == ""
		}
		if ok {
			// Prefer a complete struct/union over anything else.
			if best == nil || isComposite(ty) && !isComposite(best) {
				best = ty
			}
		}
	}
	if best == nil {
		return nil, fmt.Errorf("type %q: %w", name, ErrNotFound)
	}
	t.mu.Lock()
	t.cache[name] = best
	t.mu.Unlock()
	return best, nil
}

func isComposite(ty btf.Type) bool {
	switch ty.(type) {
	case *btf.Struct, *btf.Union:
		return true
	}
	return false
}

// Size returns sizeof(name).
func (t *Types) Size(name string) (uint64, error) {
	ty, err := t.Lookup(name)
	if err != nil {
		return 0, err
	}
	n, err := btf.Sizeof(ty)
	if err != nil {
		return 0, fmt.Errorf("sizeof(%s): %w", name, err)
	}
	return uint64(n), nil
}

// Member resolves a dotted member path in a struct/union type and returns
// its byte offset and type. Anonymous struct/union members are searched.
func (t *Types) Member(typ, path string) (uint64, btf.Type, error) {
	ty, err := t.Lookup(typ)
	if err != nil {
		return 0, nil, err
	}
	var off uint64
	for _, part := range strings.Split(path, ".") {
		o, mt, ok := findMember(ty, part, 0)
		if !ok {
			return 0, nil, fmt.Errorf("%s has no member %q: %w", typ, path, ErrNotFound)
		}
		off += o
		ty = mt
	}
	return off, ty, nil
}

// MemberSize returns the size of a member.
func (t *Types) MemberSize(typ, path string) (uint64, error) {
	_, mt, err := t.Member(typ, path)
	if err != nil {
		return 0, err
	}
	n, err := btf.Sizeof(mt)
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

func members(ty btf.Type) []btf.Member {
	switch s := btf.UnderlyingType(ty).(type) {
	case *btf.Struct:
		return s.Members
	case *btf.Union:
		return s.Members
	}
	return nil
}

func findMember(ty btf.Type, name string, depth int) (uint64, btf.Type, bool) {
	if depth > 8 {
		return 0, nil, false
	}
	for _, m := range members(ty) {
		if m.Name == name {
			return uint64(m.Offset.Bytes()), m.Type, true
		}
	}
	for _, m := range members(ty) {
		if m.Name == "" {
			if o, mt, ok := findMember(m.Type, name, depth+1); ok {
				return uint64(m.Offset.Bytes()) + o, mt, true
			}
		}
	}
	return 0, nil, false
}
