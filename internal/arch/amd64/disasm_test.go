package amd64

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Instructions with gdb 10's text for them (as crash 8.0.2 shows them),
// from a Debian 6.1 kernel.
func TestDecodeGDBWording(t *testing.T) {
	sym := func(a uint64) string {
		switch a {
		case 0xffffffff85340bc0:
			return "__blk_flush_plug"
		case 0xffffffff86a07249:
			return "__already_done.4"
		}
		return ""
	}
	for _, c := range []struct {
		addr  uint64
		bytes string
		want  string
	}{
		{0xffffffff85809380, "0f1f440000", "nopl   0x0(%rax,%rax,1)"},
		{0xffffffff85809385, "55", "push   %rbp"},
		{0xffffffff85809387, "65488b1c25801fb0ff", ""}, // filled below
		{0xffffffffc0276045, "48b86769726576696b6b", "movabs $0x6b6b697665726967,%rax"},
		{0xffffffffc0276057, "c3", "ret    "},
		{0xffffffffc0276058, "cc", "int3   "},
		{0xffffffffc027605c, "0f0b", "ud2    "},
		{0xffffffffc027605e, "6690", "xchg   %ax,%ax"},
		{0xffffffff858093be, "e8fd77b3ff", "call   0xffffffff85340bc0 <__blk_flush_plug>"},
		{0xffffffff85809424, "803d1ede1f0100", "cmpb   $0x0,0x11fde1e(%rip)        # 0xffffffff86a07249 <__already_done.4>"},
		{0xffffffff857fbe42, "66662e0f1f840000000000", "data16 nopw %cs:0x0(%rax,%rax,1)"},
		{0xffffffff857fbdf3, "4863f6", "movslq %esi,%rsi"},
		{0xffffffff857fbdef, "4883e0f0", "and    $0xfffffffffffffff0,%rax"},
		{0xffffffff857fbe38, "48c74350daffffff", "movq   $0xffffffffffffffda,0x50(%rbx)"},
		{0xffffffff84e44df5, "4a8b14f560db1986", "mov    -0x79e624a0(,%r14,8),%rdx"},
		{0xffffffff856f207c, "4c8da838ffffff", "lea    -0xc8(%rax),%r13"},
		{0xffffffff8509c732, "f348ab", "rep stos %rax,%es:(%rdi)"},
		{0xffffffff84e33d5c, "9c", "pushf  "},
		{0xffffffff84e33dd8, "90", "nop"},
		{0xffffffff84e00288, "480fc7f2", "rdrand %rdx"},
		{0xffffffff85a000bd, "6ada", "push   $0xffffffffffffffda"},
		{0xffffffff85a001cd, "ff7728", "push   0x28(%rdi)"},
		{0xffffffff85a00227, "480f07", "sysretq "},
		{0, "ff", "(bad)  "},
	} {
		b, err := hex.DecodeString(c.bytes)
		if err != nil {
			t.Fatal(err)
		}
		in := Decode(b, c.addr)
		if in.Len != len(b) && c.want != "(bad)  " {
			t.Errorf("% x: length %d, want %d", b, in.Len, len(b))
		}
		if c.want == "" {
			c.want = "mov    %gs:0xffffffffffb01f80,%rbx"
		}
		if got := in.Format(sym); got != c.want {
			t.Errorf("% x:\n got %q\nwant %q", b, got, c.want)
		}
	}
}

func TestDecodeTargets(t *testing.T) {
	in := Decode([]byte{0x74, 0x05}, 0xffffffffc0276055)
	if !in.HasTarget || in.Target != 0xffffffffc027605c {
		t.Fatalf("je: target %#x %v", in.Target, in.HasTarget)
	}
	if got := in.Format(func(uint64) string { return "kdive_rig_bug+28" }); got != "je     0xffffffffc027605c <kdive_rig_bug+28>" {
		t.Errorf("je: %q", got)
	}
	if got := in.Format(func(uint64) string { return "" }); strings.Contains(got, "<") {
		t.Errorf("je without a symbol: %q", got)
	}
}

// Decode never panics, always advances, and formats every byte string.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"0f1f440000", "48b86769726576696b6b", "66662e0f1f840000000000", "480fc7f2", "0f01d9", "ff", ""} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := Decode(b, 0xffffffff81000000)
		if in.Len < 1 || in.Len > 15 {
			t.Fatalf("% x: length %d", b, in.Len)
		}
		if in.Format(func(uint64) string { return "x" }) == "" {
			t.Fatalf("% x: empty text", b)
		}
	})
}
