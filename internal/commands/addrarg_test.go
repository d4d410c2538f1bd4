package commands

import (
	"errors"
	"reflect"
	"testing"
)

type addrMapResolver map[string]uint64

func (m addrMapResolver) symbolAddr(name string) (uint64, bool) {
	v, ok := m[name]
	return v, ok
}

func TestGetopt(t *testing.T) {
	const os = "Raxme:r:pfudDusSNo:81:3:6:"
	cases := []struct {
		args []string
		opts []opt
		rest []string
		err  string
	}{
		{[]string{"-64", "jiffies", "2"}, []opt{{'6', "4"}}, []string{"jiffies", "2"}, ""},
		{[]string{"-xd", "-32", "a"}, []opt{{'x', ""}, {'d', ""}, {'3', "2"}}, []string{"a"}, ""},
		{[]string{"-effff", "a"}, []opt{{'e', "ffff"}}, []string{"a"}, ""},
		{[]string{"-e", "ffff", "a"}, []opt{{'e', "ffff"}}, []string{"a"}, ""},
		{[]string{"a", "-x", "2"}, []opt{{'x', ""}}, []string{"a", "2"}, ""},
		{[]string{"-x", "--", "-a"}, []opt{{'x', ""}}, []string{"-a"}, ""},
		{[]string{"-", "a"}, nil, []string{"-", "a"}, ""},
		{[]string{"-q"}, nil, nil, "rd: invalid option -- 'q'"},
		{[]string{"a", "-e"}, nil, nil, "rd: option requires an argument -- 'e'"},
		{[]string{"-1"}, nil, nil, "rd: option requires an argument -- '1'"},
	}
	for _, c := range cases {
		opts, rest, err := getopt("rd", c.args, os)
		es := ""
		if err != nil {
			es = err.Error()
		}
		if es != c.err || err == nil && (!reflect.DeepEqual(opts, c.opts) || !reflect.DeepEqual(rest, c.rest)) {
			t.Errorf("getopt(%q) = %v %q %q, want %v %q %q", c.args, opts, rest, es, c.opts, c.rest, c.err)
		}
	}
}

func TestNumbers(t *testing.T) {
	for s, want := range map[string]bool{"ffff": true, "0x10": true, "add": true, "10": true, "x": false,
		"jiffies": false, "": false, "12 ": true, "1 2": false, "0X1F": true} {
		if got := isCrashHex(s); got != want {
			t.Errorf("isCrashHex(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]uint64{"10": 10, "0x10": 16, "1a": 26, "ff": 255, "007": 7} {
		if got, err := parseCrashNumber(s); err != nil || got != want {
			t.Errorf("parseCrashNumber(%q) = %d %v, want %d", s, got, err, want)
		}
	}
	if _, err := parseCrashNumber("12z"); err == nil || err.Error() != "not a valid number: 12z" {
		t.Errorf("parseCrashNumber(12z): %v", err)
	}
	for s, want := range map[string]uint64{"ffffffff81000000": 0xffffffff81000000, "0xffffffff81000000": 0xffffffff81000000,
		"10": 0x10, "0x1h": 1} {
		if got, err := parseCrashHex(s); err != nil || got != want {
			t.Errorf("parseCrashHex(%q) = %x %v", s, got, err)
		}
	}
	if _, err := parseCrashHex("11112222333344445"); err == nil {
		t.Errorf("17 digits accepted")
	}
}

func TestEvalExpr(t *testing.T) {
	syms := addrMapResolver{"jiffies": 0x1000, "jiffies_64": 0x1000}
	for s, want := range map[string]uint64{
		"(jiffies+8)":     0x1008,
		"(jiffies+0x10)":  0x1010,
		"(jiffies + 10)":  0x100a,
		"(jiffies-1)":     0xfff,
		"(jiffies_64&ff)": 0,
		"(1<<12)":         0x1000,
		"(0x1000>>4)":     0x100,
		"(4k)":            4096,
		"(2m*2)":          4 << 20,
		"(~0)":            ^uint64(0),
		"(-8)":            ^uint64(7),
		"(2#10)":          1024,
		"(7%4)":           3,
		"(9/2)":           4,
		"(6^3)":           5,
		"(4|1)":           5,
		"jiffies+1":       0x1001,
	} {
		got, err := evalExpr(s, syms)
		if err != nil || got != want {
			t.Errorf("evalExpr(%q) = %#x %v, want %#x", s, got, err, want)
		}
	}
	for _, s := range []string{"(jiffies+)", "((1+2))", "(1+2", "(nosuch+1)", "(1<2)", "(1+2)x"} {
		if _, err := evalExpr(s, syms); !errors.Is(err, errInvalidExpr) {
			t.Errorf("evalExpr(%q): %v, want invalid expression", s, err)
		}
	}
	if _, err := evalExpr("(1/0)", syms); err == nil {
		t.Errorf("division by zero accepted")
	}
}

func TestParseAddrArg(t *testing.T) {
	syms := addrMapResolver{"jiffies": 0x1000, "init_task": 0x2000, "dead": 0x3000}
	for s, want := range map[string]uint64{
		"jiffies":      0x1000,
		"jiffies+8":    0x1008,
		"jiffies+0x10": 0x1010,
		"init_task-16": 0x1ff0,
		"(jiffies+1)":  0x1001,
		"ffff":         0xffff,
		"0x20":         0x20,
		"dead":         0xdead, // hex first, as crash's rd
	} {
		if got, err := parseAddrArg(s, syms); err != nil || got != want {
			t.Errorf("parseAddrArg(%q) = %#x %v, want %#x", s, got, err, want)
		}
	}
	var nf *symbolNotFoundError
	if _, err := parseAddrArg("nosuch", syms); !errors.As(err, &nf) || nf.Name != "nosuch" {
		t.Errorf("nosuch: %v", err)
	}
	if _, err := parseAddrArg("jiffies+zz", syms); !errors.As(err, &nf) {
		t.Errorf("jiffies+zz: %v", err)
	}
	if got := cleanArg("ffff,"); got != "ffff" {
		t.Errorf("cleanArg: %q", got)
	}
	if got := cleanArg("name:"); got != "name:" {
		t.Errorf("cleanArg(name:): %q", got)
	}
}
