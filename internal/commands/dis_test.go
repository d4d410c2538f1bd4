package commands

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"kdive/internal/arch/amd64"
	"kdive/internal/testcorpus"
)

// disGolden reads testdata/dis-bugon-crash.txt.gz: crash 8.0.2's dis
// outputs on the bugon scenario's vmcore.lzo (sections "===crash> CMD").
func disGolden(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	b := readTestdata(t, "dis-bugon-crash.txt.gz")
	var cmds []string
	m := map[string]string{}
	for _, part := range strings.Split(string(b), "===crash> ")[1:] {
		cmd, body, _ := strings.Cut(part, "\n")
		cmds = append(cmds, cmd)
		m[cmd] = body
	}
	return cmds, m
}

// Every golden dis output (whole functions of all kinds, counts, -r, -f,
// -x, module code) is byte for byte crash's.
func TestDisMatchesCrash(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	p := openProg(t, vml, testcorpus.File(t, "bugon", "vmcore.lzo"))
	if a, err := p.Symbol("schedule"); err != nil || a != 0xffffffff85809380 {
		t.Skipf("the corpus's bugon dump is not the one testdata/dis-bugon-crash.txt.gz was captured on (schedule at %#x)", a)
	}
	cmds, golden := disGolden(t)
	if len(cmds) < 100 {
		t.Fatalf("only %d golden sections", len(cmds))
	}
	for _, cmd := range cmds {
		f := strings.Fields(cmd)
		var out, errb bytes.Buffer
		err := Lookup("dis").Run(&Env{Prog: p, Out: &out, Err: &errb}, f[1:])
		if err != nil && !errors.Is(err, ErrShown) {
			t.Errorf("%s: %v", cmd, err)
			continue
		}
		sameTextNoFatal(t, cmd, out.String(), golden[cmd])
	}
}

func sameTextNoFatal(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s: line %d:\n got %q\nwant %q", what, i+1, g, w)
			return
		}
	}
}

// The module code at the BUG's RIP is the console's "Code:" bytes, and dis
// shows the ud2 the Oops reports.
func TestDisModuleCodeMatchesConsole(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		t.Run(sc, func(t *testing.T) {
			b, err := os.ReadFile(testcorpus.File(t, sc, "console.log"))
			if err != nil {
				t.Skip(err)
			}
			m := regexp.MustCompile(`RIP: 0010:(kdive_rig_\w+)\+(0x[0-9a-f]+)/\S+ \[kdive_rig\]\r?\n[^\n]*Code: ((?:[0-9a-f]+ )*<[0-9a-f]+>(?: [0-9a-f]+)*)`).FindStringSubmatch(string(b))
			if m == nil {
				t.Skip("no kdive_rig RIP with Code: bytes in the console (the Oops could not read them)")
			}
			rip, code := m[:3], m[2:]
			p := openProg(t, vml, testcorpus.File(t, sc, "vmcore.lzo"))
			base, err := p.Symbol(rip[1])
			if err != nil {
				t.Fatal(err)
			}
			var off uint64
			fmt.Sscanf(rip[2], "0x%x", &off)
			words := strings.Fields(code[1])
			mark := -1
			var want []byte
			for i, w := range words {
				if strings.HasPrefix(w, "<") {
					mark = i
					w = strings.Trim(w, "<>")
				}
				x, err := hex.DecodeString(w)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, x...)
			}
			start := base + off - uint64(mark)
			got := make([]byte, len(want))
			if _, err := p.ReadAt(got, start); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("code at %#x:\n got % x\nwant % x", start, got, want)
			}
			in := amd64.Decode(got[mark:], base+off)
			out := runCmd(t, p, "dis", fmt.Sprintf("%x", base+off), "1")
			wantLine := fmt.Sprintf("0x%x <%s+%d>:\t%s\n", base+off, rip[1], off, in.Format(func(uint64) string { return "" }))
			if out != wantLine || !strings.Contains(out, "ud2") {
				t.Errorf("dis at the RIP: %q, want %q (an ud2)", out, wantLine)
			}
		})
	}
}

// Sessions of dis commands on the bugon dump, each compared whole with
// what crash 8.0.2 printed for the same commands:
//
//   - dis-modules: every function of every module, with crash's "file:
//     line" after each duplicate text symbol of the kernel.
//   - dis-insns: instructions x86asm does not know or words differently
//     (vmgexit, tilerelease, fwait, VEX rip-relative operands, lidt, lar,
//     encls, vmmcall) and size-less assembler data labels gdb does not name.
func TestDisSessionsMatchCrash(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	p := openProg(t, vml, testcorpus.File(t, "bugon", "vmcore.lzo"))
	if a, err := p.Symbol("schedule"); err != nil || a != 0xffffffff85809380 {
		t.Skipf("the corpus's bugon dump is not the one the dis goldens were captured on (schedule at %#x)", a)
	}
	for _, session := range []string{"dis-modules-bugon", "dis-insns-bugon"} {
		t.Run(session, func(t *testing.T) {
			want := readTestdata(t, session+"-crash.txt.gz")
			cmds, err := os.ReadFile("testdata/" + session + ".cmds")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			for _, cmd := range strings.Split(strings.TrimSpace(string(cmds)), "\n") {
				f := strings.Fields(cmd)
				var errb bytes.Buffer
				if err := Lookup("dis").Run(&Env{Prog: p, Out: &out, Err: &errb}, f[1:]); err != nil && !errors.Is(err, ErrShown) {
					t.Errorf("%s: %v", cmd, err)
				}
			}
			sameText(t, session, out.String(), string(want))
		})
	}
}
