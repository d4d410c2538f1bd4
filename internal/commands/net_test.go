package commands

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"kdive/internal/kernel/net"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// crashRefSection returns the output crash printed for one command in the
// reference session on the shared dump.
func crashRefSection(t *testing.T, dir, cmd string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "..", "..", "reference", "crash-8.0.2-sysrq.txt"))
	if err != nil {
		t.Skip(err)
	}
	s := string(b)
	i := strings.Index(s, "crash> "+cmd+"\n")
	if i < 0 {
		t.Fatalf("reference has no %q", cmd)
	}
	s = s[i+len("crash> "+cmd+"\n"):]
	if j := strings.Index(s, "crash> "); j >= 0 {
		s = s[:j]
	}
	return s
}

func netRunCmd(t *testing.T, p *program.Program, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := Lookup(name).Run(&Env{Prog: p, Out: &out, Err: &errb}, args); err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	if errb.Len() > 0 {
		t.Errorf("%s %v: stderr %q", name, args, errb.String())
	}
	return out.String()
}

// Byte for byte crash 8.0.2's `net` on the shared dump (types from its BTF).
func TestNetShared(t *testing.T) {
	dir := testcorpus.Shared(t)
	want := crashRefSection(t, dir, "net")
	p, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := netRunCmd(t, p, "net"); got != want {
		t.Errorf("net:\n%s\ncrash:\n%s", got, want)
	}
	if got := netRunCmd(t, p, "net", "-n", "1"); got != want {
		t.Errorf("net -n 1:\n%s\ncrash:\n%s", got, want)
	}
	// Every namespace (only init_net here), with IPv6 addresses.
	in, err := p.Symbol("init_net")
	if err != nil {
		t.Fatal(err)
	}
	got := netRunCmd(t, p, "net", "-N", "-6")
	lines := strings.Split(got, "\n")
	if len(lines) != 6 || lines[0] != fmt.Sprintf("NET: %x", in) || lines[1]+"\n" != strings.SplitAfter(want, "\n")[0] ||
		!strings.HasPrefix(lines[2], "ffff8a870196b000  lo     127.0.0.1, ::1") ||
		!regexp.MustCompile(`^ffff8a8701968000  dummy0 10\.77\.0\.5, fe80::[0-9a-f:]+$`).MatchString(lines[3]) || lines[4] != "" {
		t.Errorf("net -N -6:\n%s", got)
	}
}

// On every corpus dump (vmlinux types and BTF types), `net` lists the
// guest's devices and IPv4 addresses.
func TestNetCorpus(t *testing.T) {
	vml := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range []string{testcorpus.KdumpLZO, testcorpus.QEMUELF} {
			for _, v := range []string{vml, ""} {
				name := sc + "/" + f + "/vmlinux"
				if v == "" {
					name = sc + "/" + f + "/btf"
				}
				t.Run(name, func(t *testing.T) {
					truth := testcorpus.TruthOf(t, sc, testcorpus.TruthFor(f))
					p, err := program.Open(v, testcorpus.File(t, sc, f), program.OpenOptions{})
					if err != nil {
						t.Fatal(err)
					}
					defer p.Close()
					lines := strings.Split(strings.TrimSuffix(netRunCmd(t, p, "net"), "\n"), "\n")
					if lines[0] != "   NET_DEVICE     NAME   IP ADDRESS(ES)" {
						t.Fatalf("header %q", lines[0])
					}
					var got []string
					for _, l := range lines[1:] {
						f := strings.Fields(l)
						if len(f) != 3 || len(f[0]) != 16 || l[16:18] != "  " {
							t.Fatalf("line %q", l)
						}
						got = append(got, f[1]+" "+f[2])
					}
					want := append([]string(nil), truth["netdev"]...)
					sort.Strings(got)
					sort.Strings(want)
					if strings.Join(got, "|") != strings.Join(want, "|") || len(want) == 0 {
						t.Errorf("net: %q, truth %q", got, want)
					}
				})
			}
		}
	}
}

func TestSockInfo(t *testing.T) {
	for _, c := range []struct {
		s    net.Socket
		want string
	}{
		{net.Socket{Family: 1, Type: 1}, "UNIX:STREAM "},
		{net.Socket{Family: 1, Type: 2}, "UNIX:DGRAM  "},
		{net.Socket{Family: 16, Type: 3}, "NETLINK/ROUTE:RAW "},
		{net.Socket{Family: 99, Type: 77}, "99:77 "},
		{net.Socket{Family: 2, Type: 1, Src: netip.MustParseAddr("0.0.0.0"), SrcPort: 22, Dst: netip.MustParseAddr("0.0.0.0")}, "INET:STREAM  0.0.0.0-22 0.0.0.0-0"},
		{net.Socket{Family: 10, Type: 1, Src: netip.MustParseAddr("::1"), SrcPort: 80, Dst: netip.MustParseAddr("::")}, "INET6:STREAM 0:0:0:0:0:0:0:1-80 0:0:0:0:0:0:0:0-0 "},
	} {
		if got := sockInfo(&c.s); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
	var b bytes.Buffer
	WriteSockets(&b, []FDSocket{{FD: 3, Socket: net.Socket{Socket: 0xffff888001234500, Sock: 0xffff888005678000, Family: 1, Type: 1}}})
	if want := "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT\n 3 ffff888001234500 ffff888005678000 UNIX:STREAM \n"; b.String() != want {
		t.Errorf("%q", b.String())
	}
}

// net -s on the holder: its fds hold no socket.
func TestNetSocketsShared(t *testing.T) {
	dir := testcorpus.Shared(t)
	p, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := netRunCmd(t, p, "net", "-s", "105", "1")
	if !regexp.MustCompile(`^PID: 105      TASK: [0-9a-f]{16}  CPU: 0    COMMAND: "sleep"\nNo open sockets.\n\nPID: 1        TASK: ffff8a87011f9800  CPU: 0    COMMAND: "init"\nNo open sockets.\n$`).MatchString(got) {
		t.Errorf("net -s 105 1:\n%s", got)
	}
}

func TestWriteARP(t *testing.T) {
	var b bytes.Buffer
	WriteARP(&b, []net.Neighbour{
		{Addr: 0xffff888001234500, IP: netip.MustParseAddr("10.77.0.1"), HA: []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, DevName: "dummy0", DevType: 1, State: 0x02},
		{Addr: 0xffff888001234600, IP: netip.MustParseAddr("10.77.0.2"), HA: []byte{1, 2}, DevName: "x", DevType: 999, State: 0x81},
		{Addr: 0xffff888001234700, IP: netip.MustParseAddr("10.77.0.3"), DevName: "lo", DevType: 772},
	})
	want := "NEIGHBOUR        IP ADDRESS      HW TYPE    HW ADDRESS         DEVICE  STATE\n" +
		"ffff888001234500 10.77.0.1       ETHER      aa:bb:cc:dd:ee:ff  dummy0  REACHABLE\n" +
		"ffff888001234600 10.77.0.2       UNKNOWN    01 02  x       INCOMPLETE|PERMANENT\n" +
		"ffff888001234700 10.77.0.3       UNKNOWN     lo      \n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if WriteARP(&b, nil); b.Len() != 0 {
		t.Errorf("empty cache: %q", b.String())
	}
}
