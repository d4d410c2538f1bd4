package cli

import (
	"bytes"
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// The seed investigation's gdb commands typed at the prompt, bare and
// behind "gdb": add-symbol-file of a module's .ko, disassemble /m of its
// function, info symbol; a bad one fails in one line and the session goes
// on.
func TestSessionGdbCommands(t *testing.T) {
	p, err := program.Open(testcorpus.Vmlinux(t), testcorpus.File(t, "oops-proc", testcorpus.KdumpELF), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	s := NewSession(p, strings.NewReader(""), &out, &errb)
	ko := testcorpus.Module(t, "kdive_rig")
	for _, line := range []string{
		"add-symbol-file " + ko + " 0xffffffffc0520000",
		"disassemble /m kdive_rig_null_deref",
		"disassemble nosuchfunc",
		"gdb info symbol 0xffffffffc0520010",
		"info line *0xffffffffc052000c",
	} {
		s.RunLine(line)
	}
	got := out.String()
	for _, want := range []string{
		"add symbol table from file \"" + ko + "\" at\n\t.text_addr = 0xffffffffc0520000\nReading symbols from " + ko + "...\n",
		"Dump of assembler code for function kdive_rig_null_deref:\n70\ttestdata/rig/module/kdive_rig.c: No such file or directory.\n",
		"   0xffffffffc052000c <+12>:\tmovq   $0x6b646976,0x28(%rax)\n",
		"kdive_rig_null_deref + 16 in section .text of ",
		"Line 73 of \"testdata/rig/module/kdive_rig.c\" starts at address 0xffffffffc052000c <kdive_rig_null_deref+12> and ends at 0xffffffffc0520014 <kdive_rig_null_deref+20>.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if e := errb.String(); e != "disassemble: No symbol \"nosuchfunc\" in current context.\n" || s.Failures() != 1 {
		t.Errorf("errors %q, %d failures", e, s.Failures())
	}
}
