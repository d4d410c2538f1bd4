// Package vmcoreinfo parses the kernel's VMCOREINFO text (kernel/crash_core.c):
// "KEY=VALUE" lines such as OSRELEASE=, SYMBOL(name)=hex, OFFSET(s.m)=dec,
// SIZE(s)=dec, LENGTH(x)=dec, NUMBER(x)=dec, KERNELOFFSET=hex, CRASHTIME=dec.
package vmcoreinfo

import (
	"fmt"
	"strconv"
	"strings"
)

// maxLines bounds the parse of untrusted text.
const maxLines = 1 << 14

// Info is parsed VMCOREINFO.
type Info struct {
	Raw  string
	vals map[string]string
	keys []string
}

// Parse parses VMCOREINFO text. Lines without '=' are ignored; NUL bytes end the text.
func Parse(b []byte) *Info {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	in := &Info{Raw: string(b), vals: map[string]string{}}
	for n, line := range strings.Split(in.Raw, "\n") {
		if n >= maxLines {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := in.vals[k]; !dup {
			in.keys = append(in.keys, k)
		}
		in.vals[k] = strings.TrimSpace(v)
	}
	return in
}

// Get returns the raw value of key.
func (in *Info) Get(key string) (string, bool) {
	if in == nil {
		return "", false
	}
	v, ok := in.vals[key]
	return v, ok
}

// Keys returns the keys in the order they appeared.
func (in *Info) Keys() []string { return in.keys }

// OSRelease returns OSRELEASE.
func (in *Info) OSRelease() string { v, _ := in.Get("OSRELEASE"); return v }

// BuildID returns BUILD-ID (hex), "" when absent.
func (in *Info) BuildID() string { v, _ := in.Get("BUILD-ID"); return v }

// Symbol returns SYMBOL(name).
func (in *Info) Symbol(name string) (uint64, bool) {
	return in.hex("SYMBOL(" + name + ")")
}

// Offset returns OFFSET(typ.member).
func (in *Info) Offset(typ, member string) (int64, bool) {
	return in.dec("OFFSET(" + typ + "." + member + ")")
}

// Size returns SIZE(typ).
func (in *Info) Size(typ string) (int64, bool) { return in.dec("SIZE(" + typ + ")") }

// Length returns LENGTH(name).
func (in *Info) Length(name string) (int64, bool) { return in.dec("LENGTH(" + name + ")") }

// Number returns NUMBER(name).
func (in *Info) Number(name string) (int64, bool) { return in.dec("NUMBER(" + name + ")") }

// KernelOffset returns the KASLR offset (KERNELOFFSET, hex).
func (in *Info) KernelOffset() (uint64, bool) { return in.hex("KERNELOFFSET") }

// CrashTime returns CRASHTIME (seconds since the epoch).
func (in *Info) CrashTime() (int64, bool) { return in.dec("CRASHTIME") }

func (in *Info) hex(key string) (uint64, bool) {
	v, ok := in.Get(key)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
	return x, err == nil
}

func (in *Info) dec(key string) (int64, bool) {
	v, ok := in.Get(key)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		// Some values are printed as unsigned (e.g. large masks).
		u, err2 := strconv.ParseUint(v, 10, 64)
		if err2 != nil {
			return 0, false
		}
		x = int64(u)
	}
	return x, true
}

// String summarises the parse for diagnostics.
func (in *Info) String() string {
	return fmt.Sprintf("VMCOREINFO: %d keys, OSRELEASE=%s", len(in.keys), in.OSRelease())
}
