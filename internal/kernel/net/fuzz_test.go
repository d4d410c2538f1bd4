package net_test

import (
	"fmt"
	"testing"

	"kdive/internal/kernel/net"
)

type flat struct {
	base uint64
	b    []byte
}

func (f *flat) ReadAt(b []byte, a uint64) (int, error) {
	if a < f.base || a-f.base > uint64(len(f.b)) || uint64(len(f.b))-(a-f.base) < uint64(len(b)) {
		return 0, fmt.Errorf("no memory at %#x", a)
	}
	return copy(b, f.b[a-f.base:]), nil
}
func (f *flat) Symbol(n string) (uint64, error) {
	switch n {
	case "init_net", "net_namespace_list", "arp_tbl":
		return f.base, nil
	}
	return 0, fmt.Errorf("no symbol %s", n)
}
func (f *flat) MemberOffset(t, m string) (uint64, error) { return (&fake{}).MemberOffset(t, m) }
func (f *flat) MemberSize(t, m string) (uint64, error)   { return (&fake{}).MemberSize(t, m) }

// Any memory: the device, namespace and ARP walks end without panicking.
func FuzzDevices(f *testing.F) {
	defer func(n int) { net.MaxReads = n }(net.MaxReads)
	net.MaxReads = 1 << 14
	for k, v := range map[string]uint64{
		"neigh_table.nht": 0x8, "neigh_hash_table.hash_shift": 0x8, "neigh_hash_table.hash_buckets": 0,
		"neighbour.next": 0, "neighbour.primary_key": 0x40, "neighbour.ha": 0x20, "neighbour.dev": 0x10, "neighbour.nud_state": 0x18,
		"socket_alloc.vfs_inode": 0x80, "socket_alloc.socket": 0, "socket.sk": 0x18,
		"sock.__sk_common.skc_family": 0x10, "sock.sk_type": 0x202, "sock.__sk_common.skc_dport": 0xc,
		"inet_sock.inet_sport": 0x324, "sock.__sk_common.skc_rcv_saddr": 4, "sock.__sk_common.skc_daddr": 0,
	} {
		offs[k] = v
	}
	seed := make([]byte, 0x100)
	for i := 0; i < 0x100; i += 8 {
		seed[i] = byte(i + 0x20)
		seed[i+1] = 0x10
	}
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, mem []byte) {
		src := &flat{base: 0x1000, b: mem}
		if res, err := net.Devices(src, 0x1000); err == nil && len(res.Devices) > net.MaxDevices {
			t.Fatalf("%d devices", len(res.Devices))
		}
		_, _, _ = net.Namespaces(src)
		_, _, _ = net.ARP(src)
		_, _ = net.SocketOfInode(src, 0x1080)
	})
}
