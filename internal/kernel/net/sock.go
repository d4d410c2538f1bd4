package net

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Socket is the struct socket behind a socket inode and its struct sock.
type Socket struct {
	Socket uint64 // struct socket * (socket_alloc.socket)
	Sock   uint64 // socket.sk
	Family uint16 // sk->__sk_common.skc_family (AF_*)
	Type   uint16 // sk->sk_type (SOCK_*)
	// For AF_INET and AF_INET6: the bound (rcv_saddr) and peer (daddr)
	// addresses and ports.
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// Address families and socket types crash names.
const (
	AF_UNIX  = 1
	AF_INET  = 2
	AF_INET6 = 10
)

// SocketOfInode reads the socket whose inode (socket_alloc.vfs_inode) is
// at inode.
func SocketOfInode(src Source, inode uint64) (*Socket, error) {
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
	vfsInode := get("socket_alloc", "vfs_inode")
	sockOff := get("socket_alloc", "socket")
	sk := get("socket", "sk")
	family := get("sock", "__sk_common.skc_family")
	typ := get("sock", "sk_type")
	if err != nil {
		return nil, err
	}
	r := &reader{src: src}
	s := &Socket{Socket: inode - vfsInode + sockOff}
	if s.Sock, err = r.u64(s.Socket + sk); err != nil {
		return nil, err
	}
	if s.Sock == 0 {
		return s, nil
	}
	var b [16]byte
	if _, err := src.ReadAt(b[:2], s.Sock+family); err != nil {
		return nil, err
	}
	s.Family = binary.LittleEndian.Uint16(b[:])
	if _, err := src.ReadAt(b[:2], s.Sock+typ); err != nil {
		return nil, err
	}
	s.Type = binary.LittleEndian.Uint16(b[:])
	if s.Family != AF_INET && s.Family != AF_INET6 {
		return s, nil
	}
	dport := get("sock", "__sk_common.skc_dport")
	sport := get("inet_sock", "inet_sport")
	if err != nil {
		return s, nil
	}
	if _, err := src.ReadAt(b[:2], s.Sock+dport); err == nil {
		s.DstPort = binary.BigEndian.Uint16(b[:])
	}
	if _, err := src.ReadAt(b[:2], s.Sock+sport); err == nil {
		s.SrcPort = binary.BigEndian.Uint16(b[:])
	}
	addr := func(member string, n int) netip.Addr {
		off, e := src.MemberOffset("sock", member)
		if e != nil {
			return netip.Addr{}
		}
		if _, e := src.ReadAt(b[:n], s.Sock+off); e != nil {
			return netip.Addr{}
		}
		if n == 4 {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16(b)
	}
	if s.Family == AF_INET {
		s.Src, s.Dst = addr("__sk_common.skc_rcv_saddr", 4), addr("__sk_common.skc_daddr", 4)
	} else {
		s.Src, s.Dst = addr("__sk_common.skc_v6_rcv_saddr", 16), addr("__sk_common.skc_v6_daddr", 16)
	}
	return s, nil
}
