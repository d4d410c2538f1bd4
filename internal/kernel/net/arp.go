package net

import (
	"fmt"
	"net/netip"
)

// Neighbour is one entry of the ARP cache (arp_tbl).
type Neighbour struct {
	Addr    uint64 // struct neighbour *
	IP      netip.Addr
	HA      []byte // the hardware address, dev->addr_len bytes
	Dev     uint64
	DevName string
	DevType uint16 // ARPHRD_*
	State   uint8  // nud_state (NUD_*)
}

// MaxNeighbours caps the ARP cache walk.
const MaxNeighbours = 1 << 20

// ARP returns the ARP cache: each chain of arp_tbl.nht->hash_buckets
// (1 << hash_shift of them) through neighbour.next, in bucket order.
func ARP(src Source) ([]Neighbour, []string, error) {
	o, err := resolve(src)
	if err != nil {
		return nil, nil, err
	}
	tbl, err := src.Symbol("arp_tbl")
	if err != nil {
		return nil, nil, fmt.Errorf("arp_tbl does not exist in this kernel")
	}
	var e error
	get := func(typ, m string) uint64 {
		if e != nil {
			return 0
		}
		v, err := src.MemberOffset(typ, m)
		if err != nil {
			e = fmt.Errorf("net: %s.%s: %w", typ, m, err)
		}
		return v
	}
	nhtOff := get("neigh_table", "nht")
	shiftOff := get("neigh_hash_table", "hash_shift")
	bucketsOff := get("neigh_hash_table", "hash_buckets")
	next := get("neighbour", "next")
	key := get("neighbour", "primary_key")
	ha := get("neighbour", "ha")
	dev := get("neighbour", "dev")
	state := get("neighbour", "nud_state")
	if e != nil {
		return nil, nil, e
	}
	r := &reader{src: src, o: o, res: &Result{}}
	nht, err := r.u64(tbl + nhtOff)
	if err != nil {
		return nil, nil, err
	}
	if nht == 0 {
		return nil, nil, nil
	}
	var b [4]byte
	if _, err := r.read(b[:], nht+shiftOff); err != nil {
		return nil, nil, err
	}
	shift := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	if shift > 24 {
		return nil, nil, fmt.Errorf("net: neigh_hash_table %#x: hash_shift %d", nht, shift)
	}
	buckets, err := r.u64(nht + bucketsOff)
	if err != nil {
		return nil, nil, err
	}
	devs := map[uint64]Device{}
	var out []Neighbour
	seen := map[uint64]bool{}
	for i := uint64(0); i < 1<<shift; i++ {
		n, err := r.u64(buckets + i*8)
		if err != nil {
			r.warn("net: arp_tbl bucket %d: %v", i, err)
			continue
		}
		for n != 0 {
			if seen[n] || len(seen) >= MaxNeighbours {
				r.warn("net: arp_tbl bucket %d: chain loops or is too long at %#x", i, n)
				break
			}
			seen[n] = true
			nb := Neighbour{Addr: n}
			var ip [4]byte
			if _, err := r.read(ip[:], n+key); err != nil {
				r.warn("net: neighbour %#x: %v", n, err)
				break
			}
			nb.IP = netip.AddrFrom4(ip)
			if nb.Dev, err = r.u64(n + dev); err != nil {
				r.warn("net: neighbour %#x: %v", n, err)
				break
			}
			d, ok := devs[nb.Dev]
			if !ok && nb.Dev != 0 {
				d = r.device(nb.Dev)
				devs[nb.Dev] = d
			}
			nb.DevName, nb.DevType = d.Name, d.Type
			nb.HA = make([]byte, d.AddrLen)
			if len(nb.HA) > 0 {
				if _, err := r.read(nb.HA, n+ha); err != nil {
					r.warn("net: neighbour %#x: ha: %v", n, err)
				}
			}
			if _, err := r.read(b[:1], n+state); err == nil {
				nb.State = b[0]
			}
			out = append(out, nb)
			if n, err = r.u64(n + next); err != nil {
				r.warn("net: neighbour: next: %v", err)
				break
			}
		}
	}
	return out, r.res.Warnings, nil
}
