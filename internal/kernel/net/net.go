// Package net reads a crashed kernel's network namespaces and devices: the
// devices of each struct net (net->dev_base_head, a list of struct
// net_device linked through dev_list), and each device's IPv4 addresses
// (net_device.ip_ptr -> in_device.ifa_list -> in_ifaddr, linked through
// ifa_next) and IPv6 addresses (net_device.ip6_ptr -> inet6_dev.addr_list ->
// inet6_ifaddr.if_list). RCU-protected pointers are plain pointers in a
// dump. Every walk is bounded and checks for cycles.
package net

import (
	"encoding/binary"
	"errors"
	"fmt"
	"kdive/internal/kernel/klist"
	"kdive/internal/kernel/kread"
	"net/netip"
)

// Source is what the reader needs; *program.Program satisfies it.
type Source interface {
	ReadAt(b []byte, addr uint64) (int, error)
	Symbol(name string) (uint64, error)
	MemberOffset(typ, member string) (uint64, error)
	MemberSize(typ, member string) (uint64, error)
}

// Caps on walks.
const (
	MaxDevices    = 1 << 16
	MaxNamespaces = 1 << 14
	MaxAddrs      = 4096
)

// Device is one struct net_device.
type Device struct {
	Addr uint64 // struct net_device *
	Name string // net_device.name
	// IPv4 holds in_ifaddr.ifa_address of each address, in ifa_list
	// order (what crash's net prints); Local holds ifa_local (what ip(8)
	// shows; the same but for point-to-point peers).
	IPv4, Local []netip.Addr
	// IPv6 holds inet6_ifaddr.addr of each address, in addr_list order.
	IPv6 []netip.Addr
	// Type is net_device.type (ARPHRD_*), AddrLen net_device.addr_len.
	Type    uint16
	AddrLen uint8
	// Ifindex is net_device.ifindex.
	Ifindex int32
}

// Result is what a walk found, with problems met on the way.
type Result struct {
	Devices  []Device
	Warnings []string
}

type offsets struct {
	netDevBase, netList                  uint64
	devList, devName, devIP, devIP6      uint64
	nameLen                              uint64
	devType, devAddrLen, devIfindex      uint64
	hasIP6, hasType                      bool
	inDevIfaList, ifaNext, ifaAddr, ifaL uint64
	i6AddrList, i6IfList, i6Addr         uint64
	hasI6                                bool
}

func resolve(src Source) (*offsets, error) {
	o := &offsets{}
	var err error
	get := func(typ, m string) uint64 {
		if err != nil {
			return 0
		}
		v, e := src.MemberOffset(typ, m)
		if e != nil {
			err = fmt.Errorf("net: %s.%s: %w", typ, m, e)
		}
		return v
	}
	o.netDevBase = get("net", "dev_base_head")
	o.netList = get("net", "list")
	o.devList = get("net_device", "dev_list")
	o.devName = get("net_device", "name")
	o.devIP = get("net_device", "ip_ptr")
	o.inDevIfaList = get("in_device", "ifa_list")
	o.ifaNext = get("in_ifaddr", "ifa_next")
	o.ifaAddr = get("in_ifaddr", "ifa_address")
	o.ifaL = get("in_ifaddr", "ifa_local")
	if err != nil {
		return nil, err
	}
	o.nameLen = 16
	if n, e := src.MemberSize("net_device", "name"); e == nil && n > 0 && n <= 256 {
		o.nameLen = n
	}
	if v, e := src.MemberOffset("net_device", "ifindex"); e == nil {
		o.devIfindex = v
	}
	if t, e1 := src.MemberOffset("net_device", "type"); e1 == nil {
		if a, e2 := src.MemberOffset("net_device", "addr_len"); e2 == nil {
			o.devType, o.devAddrLen, o.hasType = t, a, true
		}
	}
	// IPv6 is optional (CONFIG_IPV6).
	var e6 error
	get6 := func(typ, m string) uint64 {
		if e6 != nil {
			return 0
		}
		v, e := src.MemberOffset(typ, m)
		if e != nil {
			e6 = e
		}
		return v
	}
	o.devIP6 = get6("net_device", "ip6_ptr")
	o.i6AddrList = get6("inet6_dev", "addr_list")
	o.i6IfList = get6("inet6_ifaddr", "if_list")
	o.i6Addr = get6("inet6_ifaddr", "addr")
	o.hasI6 = e6 == nil
	return o, nil
}

type reader struct {
	src Source
	o   *offsets
	res *Result
	mem *kread.Budget // MaxReads reads for the whole call
}

// MaxReads bounds the memory reads of one Devices, Namespaces or ARP call,
// so that garbage cannot make a walk run long. Tests may lower it.
var MaxReads = 1 << 22

// budget is the call's budgeted reader: MaxReads reads, then a
// *kread.BudgetError.
func (r *reader) budget() *kread.Budget {
	if r.mem == nil {
		r.mem = kread.NewBudget(r.src, "net", MaxReads)
	}
	return r.mem
}

func (r *reader) read(b []byte, addr uint64) (int, error) { return r.budget().ReadAt(b, addr) }
func (r *reader) u64(addr uint64) (uint64, error)         { return kread.U64(r.budget(), addr) }

func (r *reader) warn(format string, a ...any) {
	(*kread.Warnings)(&r.res.Warnings).Add(format, a...)
}

// list walks the circular list whose list_head is at head and returns the
// entry addresses (node - off), head excluded; it stops at a repeated
// node, a NULL, a read error or max entries, with a warning.
func (r *reader) list(head, off uint64, max int, what string) []uint64 {
	out, err := klist.Entries(r.u64, head, off, max)
	if err != nil {
		r.warn("net: %s: %v", what, err)
	}
	return out
}

// InitNet returns the address of init_net.
func InitNet(src Source) (uint64, error) {
	a, err := src.Symbol("init_net")
	if err != nil {
		return 0, fmt.Errorf("net: init_net: %w", err)
	}
	return a, nil
}

// Namespaces returns every struct net on net_namespace_list (linked
// through net.list), init_net first as the kernel keeps it.
func Namespaces(src Source) ([]uint64, []string, error) {
	o, err := resolve(src)
	if err != nil {
		return nil, nil, err
	}
	head, err := src.Symbol("net_namespace_list")
	if err != nil {
		in, err2 := InitNet(src)
		if err2 != nil {
			return nil, nil, fmt.Errorf("net: net_namespace_list: %w", err)
		}
		return []uint64{in}, []string{"net: no net_namespace_list: init_net only"}, nil
	}
	r := &reader{src: src, o: o, res: &Result{}}
	return r.list(head, o.netList, MaxNamespaces, "net_namespace_list"), r.res.Warnings, nil
}

// TaskNamespace returns task->nsproxy->net_ns.
func TaskNamespace(src Source, task uint64) (uint64, error) {
	off, err := src.MemberOffset("task_struct", "nsproxy")
	if err != nil {
		return 0, fmt.Errorf("net: task_struct.nsproxy: %w", err)
	}
	nsoff, err := src.MemberOffset("nsproxy", "net_ns")
	if err != nil {
		return 0, fmt.Errorf("net: nsproxy.net_ns: %w", err)
	}
	r := &reader{src: src}
	ns, err := r.u64(task + off)
	if err != nil {
		return 0, err
	}
	if ns == 0 {
		return 0, errors.New("net: task has no nsproxy (exited)")
	}
	n, err := r.u64(ns + nsoff)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errors.New("cannot determine net_namespace location")
	}
	return n, nil
}

// Devices returns the devices of the struct net at netns, in
// dev_base_head order, with their addresses.
func Devices(src Source, netns uint64) (*Result, error) {
	o, err := resolve(src)
	if err != nil {
		return nil, err
	}
	r := &reader{src: src, o: o, res: &Result{}}
	for _, d := range r.list(netns+o.netDevBase, o.devList, MaxDevices, fmt.Sprintf("net %#x dev_base_head", netns)) {
		r.res.Devices = append(r.res.Devices, r.device(d))
	}
	return r.res, nil
}

func (r *reader) device(addr uint64) Device {
	o := r.o
	d := Device{Addr: addr}
	name := make([]byte, o.nameLen)
	if _, err := r.read(name, addr+o.devName); err != nil {
		r.warn("net: net_device %#x: name: %v", addr, err)
	} else {
		d.Name = cstr(name)
	}
	if o.hasType {
		var b [2]byte
		if _, err := r.read(b[:], addr+o.devType); err == nil {
			d.Type = binary.LittleEndian.Uint16(b[:])
		}
		if _, err := r.read(b[:1], addr+o.devAddrLen); err == nil {
			d.AddrLen = b[0]
		}
	}
	if o.devIfindex != 0 {
		var b [4]byte
		if _, err := r.read(b[:], addr+o.devIfindex); err == nil {
			d.Ifindex = int32(binary.LittleEndian.Uint32(b[:]))
		}
	}
	d.IPv4, d.Local = r.ipv4(addr)
	if o.hasI6 {
		d.IPv6 = r.ipv6(addr)
	}
	return d
}

func (r *reader) ipv4(dev uint64) (addrs, locals []netip.Addr) {
	o := r.o
	ip, err := r.u64(dev + o.devIP)
	if err != nil {
		r.warn("net: net_device %#x: ip_ptr: %v", dev, err)
		return nil, nil
	}
	if ip == 0 {
		return nil, nil
	}
	ifa, err := r.u64(ip + o.inDevIfaList)
	if err != nil {
		r.warn("net: in_device %#x: ifa_list: %v", ip, err)
		return nil, nil
	}
	seen := map[uint64]bool{}
	for ifa != 0 {
		if seen[ifa] || len(seen) >= MaxAddrs {
			r.warn("net: in_device %#x: ifa_list loops or is too long at %#x", ip, ifa)
			break
		}
		seen[ifa] = true
		var a, l [4]byte
		if _, err := r.read(a[:], ifa+o.ifaAddr); err != nil {
			r.warn("net: in_ifaddr %#x: %v", ifa, err)
			break
		}
		if _, err := r.read(l[:], ifa+o.ifaL); err != nil {
			r.warn("net: in_ifaddr %#x: %v", ifa, err)
			break
		}
		addrs = append(addrs, netip.AddrFrom4(a))
		locals = append(locals, netip.AddrFrom4(l))
		if ifa, err = r.u64(ifa + o.ifaNext); err != nil {
			r.warn("net: in_ifaddr %#x: ifa_next: %v", ifa, err)
			break
		}
	}
	return addrs, locals
}

func (r *reader) ipv6(dev uint64) []netip.Addr {
	o := r.o
	i6, err := r.u64(dev + o.devIP6)
	if err != nil || i6 == 0 {
		return nil
	}
	var out []netip.Addr
	for _, ifa := range r.list(i6+o.i6AddrList, o.i6IfList, MaxAddrs, fmt.Sprintf("inet6_dev %#x addr_list", i6)) {
		var a [16]byte
		if _, err := r.read(a[:], ifa+o.i6Addr); err != nil {
			r.warn("net: inet6_ifaddr %#x: %v", ifa, err)
			break
		}
		out = append(out, netip.AddrFrom16(a))
	}
	return out
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
