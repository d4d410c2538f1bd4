package net_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kdive/internal/kernel/net"
	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// Every corpus dump, with the vmlinux and with types from the dump's own
// BTF: init_net's devices and IPv4 addresses are the guest's (truth
// `netdev NAME IPv4` lines), and init_net is on net_namespace_list.
func TestCorpusDevices(t *testing.T) {
	testcorpus.Dir(t)
	vmlinux := testcorpus.Vmlinux(t)
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range testcorpus.Formats() {
			for _, vml := range []string{vmlinux, ""} {
				name := sc + "/" + f
				if vml == "" {
					name += "/btf"
				}
				t.Run(name, func(t *testing.T) {
					truth := testcorpus.TruthOf(t, sc, testcorpus.TruthFor(f))
					p, err := program.Open(vml, testcorpus.File(t, sc, f), program.OpenOptions{})
					if err != nil {
						t.Fatal(err)
					}
					defer p.Close()
					checkTruth(t, p, truth["netdev"])
				})
			}
		}
	}
}

func TestSharedDevices(t *testing.T) {
	dir := testcorpus.Shared(t)
	truth, err := readTruth(dir)
	if err != nil {
		t.Skip(err)
	}
	p, err := program.Open("", filepath.Join(dir, "vmcore.zstd"), program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	checkTruth(t, p, truth["netdev"])
}

func checkTruth(t *testing.T, p *program.Program, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("truth has no netdev lines")
	}
	in, err := net.InitNet(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := net.Devices(p, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Warnings {
		t.Errorf("warning: %s", w)
	}
	var got []string
	for _, d := range res.Devices {
		var a []string
		for i, ip := range d.IPv4 {
			if d.Local[i] != ip {
				t.Errorf("%s: ifa_address %s, ifa_local %s", d.Name, ip, d.Local[i])
			}
			a = append(a, ip.String())
		}
		got = append(got, d.Name+" "+strings.Join(a, ","))
		if d.Name == "lo" && (len(d.IPv6) != 1 || d.IPv6[0] != netip.IPv6Loopback() || d.Type != 772 || d.Ifindex != 1) {
			t.Errorf("lo: %+v", d)
		}
	}
	w := append([]string(nil), want...)
	sort.Strings(got)
	sort.Strings(w)
	if fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("devices %q, truth %q", got, w)
	}
	nss, warns, err := net.Namespaces(p)
	if err != nil || len(warns) > 0 {
		t.Fatal(err, warns)
	}
	if len(nss) == 0 || nss[0] != in {
		t.Errorf("net_namespace_list %x, init_net %x", nss, in)
	}
	init, err := p.Symbol("init_task")
	if err != nil {
		t.Fatal(err)
	}
	if ns, err := net.TaskNamespace(p, init); err != nil || ns != in {
		t.Errorf("init_task's namespace %#x (%v), init_net %#x", ns, err, in)
	}
}

// fake is a tiny kernel memory: 8-byte words at addresses.
type fake struct{ mem map[uint64]byte }

func (f *fake) ReadAt(b []byte, a uint64) (int, error) {
	for i := range b {
		v, ok := f.mem[a+uint64(i)]
		if !ok {
			return i, fmt.Errorf("no memory at %#x", a+uint64(i))
		}
		b[i] = v
	}
	return len(b), nil
}
func (f *fake) put(a uint64, b []byte) {
	for i, c := range b {
		f.mem[a+uint64(i)] = c
	}
}
func (f *fake) u64(a, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	f.put(a, b[:])
}
func (f *fake) Symbol(n string) (uint64, error) {
	if n == "init_net" {
		return 0x1000, nil
	}
	return 0, fmt.Errorf("no symbol %s", n)
}

var offs = map[string]uint64{
	"net.dev_base_head": 0x10, "net.list": 0,
	"net_device.dev_list": 0x20, "net_device.name": 0, "net_device.ip_ptr": 0x30,
	"in_device.ifa_list": 0x8, "in_ifaddr.ifa_next": 0, "in_ifaddr.ifa_address": 0x8, "in_ifaddr.ifa_local": 0xc,
}

func (f *fake) MemberOffset(t, m string) (uint64, error) {
	if v, ok := offs[t+"."+m]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("no member %s.%s", t, m)
}
func (f *fake) MemberSize(t, m string) (uint64, error) {
	if t == "net_device" && m == "name" {
		return 16, nil
	}
	return 0, fmt.Errorf("no member %s.%s", t, m)
}

// Two devices, the second with two addresses; then a device list and an
// address list that loop: the walks stop with warnings.
func TestFake(t *testing.T) {
	f := &fake{mem: map[uint64]byte{}}
	const ns, d1, d2, in2, a1, a2 = 0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000
	f.u64(ns+0x10, d1+0x20)
	f.u64(d1+0x20, d2+0x20)
	f.u64(d2+0x20, ns+0x10)
	f.put(d1, []byte("lo\x00xxxxxxxxxxxxx"))
	f.put(d2, []byte("eth0-very-long-n"))
	f.u64(d1+0x30, 0)
	f.u64(d2+0x30, in2)
	f.u64(in2+8, a1)
	f.u64(a1, a2)
	f.put(a1+8, []byte{10, 0, 0, 1, 10, 0, 0, 1})
	f.u64(a2, 0)
	f.put(a2+8, []byte{192, 168, 1, 2, 192, 168, 1, 2})
	res, err := net.Devices(f, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 || len(res.Devices) != 2 || res.Devices[0].Name != "lo" || len(res.Devices[0].IPv4) != 0 ||
		res.Devices[1].Name != "eth0-very-long-n" || fmt.Sprint(res.Devices[1].IPv4) != "[10.0.0.1 192.168.1.2]" {
		t.Fatalf("%+v", res)
	}
	f.u64(a2, a1)                 // address loop
	f.u64(d2+0x20, d1+0x20)       // device loop
	res, err = net.Devices(f, ns) // must end
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Devices) != 2 || len(res.Warnings) != 2 || fmt.Sprint(res.Devices[1].IPv4) != "[10.0.0.1 192.168.1.2]" {
		t.Fatalf("%+v", res)
	}
}

func readTruth(dir string) (map[string][]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "truth.txt"))
	if err != nil {
		return nil, err
	}
	return testcorpus.ParseTruth(string(b)), nil
}

// An AF_INET stream socket: struct socket before its inode in
// socket_alloc, the sock's addresses and ports in network order.
func TestSocketOfInode(t *testing.T) {
	f := &fake{mem: map[uint64]byte{}}
	for k, v := range map[string]uint64{
		"socket_alloc.vfs_inode": 0x80, "socket_alloc.socket": 0, "socket.sk": 0x18,
		"sock.__sk_common.skc_family": 0x10, "sock.sk_type": 0x202, "sock.__sk_common.skc_dport": 0xc,
		"inet_sock.inet_sport": 0x324, "sock.__sk_common.skc_rcv_saddr": 4, "sock.__sk_common.skc_daddr": 0,
	} {
		offs[k] = v
	}
	const sa, sk = 0x10000, 0x20000
	f.u64(sa+0x18, sk)
	f.put(sk, []byte{10, 0, 0, 9, 127, 0, 0, 1})
	f.put(sk+0xc, []byte{0x1f, 0x90, 2, 0})
	f.put(sk+0x202, []byte{1, 0})
	f.put(sk+0x10, []byte{2, 0})
	f.put(sk+0x324, []byte{0x00, 0x16})
	s, err := net.SocketOfInode(f, sa+0x80)
	if err != nil {
		t.Fatal(err)
	}
	if s.Socket != sa || s.Sock != sk || s.Family != net.AF_INET || s.Type != 1 || s.Src.String() != "127.0.0.1" ||
		s.Dst.String() != "10.0.0.9" || s.SrcPort != 22 || s.DstPort != 8080 {
		t.Errorf("%+v", s)
	}
}

// arp_tbl with two buckets: an empty one and a chain of two neighbours on
// an Ethernet device; then the chain loops and the walk ends.
func TestARP(t *testing.T) {
	f := &fake{mem: map[uint64]byte{}}
	for k, v := range map[string]uint64{
		"neigh_table.nht": 0x8, "neigh_hash_table.hash_shift": 0x8, "neigh_hash_table.hash_buckets": 0,
		"neighbour.next": 0, "neighbour.primary_key": 0x40, "neighbour.ha": 0x20, "neighbour.dev": 0x10, "neighbour.nud_state": 0x18,
		"net_device.type": 0x40, "net_device.addr_len": 0x42,
	} {
		offs[k] = v
	}
	defer func() { delete(offs, "net_device.type"); delete(offs, "net_device.addr_len") }()
	const tbl, nht, bk, n1, n2, dev = 0x7000, 0x8000, 0x9000, 0xa000, 0xb000, 0xc000
	f.mem[0] = 0
	sym := func(n string) (uint64, error) { return tbl, nil }
	src := &symFake{f, sym}
	f.u64(tbl+8, nht)
	f.u64(nht, bk)
	f.put(nht+8, []byte{1, 0, 0, 0})
	f.u64(bk, 0)
	f.u64(bk+8, n1)
	f.u64(n1, n2)
	f.u64(n2, 0)
	f.put(dev, []byte("eth0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.u64(dev+0x30, 0)
	f.put(dev+0x40, []byte{1, 0, 6})
	for i, n := range []uint64{n1, n2} {
		f.u64(n+0x10, dev)
		f.put(n+0x18, []byte{2 << i})
		f.put(n+0x20, []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, byte(i)})
		f.put(n+0x40, []byte{10, 0, 0, byte(i + 1)})
	}
	nb, warns, err := net.ARP(src)
	if err != nil || len(warns) != 0 || len(nb) != 2 {
		t.Fatal(nb, warns, err)
	}
	if nb[0].Addr != n1 || nb[0].IP.String() != "10.0.0.1" || nb[0].DevName != "eth0" || nb[0].DevType != 1 ||
		fmt.Sprintf("%x", nb[0].HA) != "aabbccddee00" || nb[0].State != 2 || nb[1].State != 4 || nb[1].IP.String() != "10.0.0.2" {
		t.Errorf("%+v", nb)
	}
	f.u64(n2, n1)
	if nb, warns, err = net.ARP(src); err != nil || len(nb) != 2 || len(warns) != 1 {
		t.Errorf("loop: %v %v %v", nb, warns, err)
	}
}

type symFake struct {
	*fake
	sym func(string) (uint64, error)
}

func (s *symFake) Symbol(n string) (uint64, error) { return s.sym(n) }
