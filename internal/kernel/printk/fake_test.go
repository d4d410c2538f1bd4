package printk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// fakeMem is a sparse kernel address space with VMCOREINFO, for unit tests.
type fakeMem struct {
	regions map[uint64][]byte
	vmci    map[string]string
	syms    map[string]uint64
	holes   map[uint64]bool // unreadable pages (addr/4096)
}

func newFake() *fakeMem {
	return &fakeMem{regions: map[uint64][]byte{}, vmci: map[string]string{}, syms: map[string]uint64{}, holes: map[uint64]bool{}}
}

func (f *fakeMem) ReadAt(b []byte, addr uint64) (int, error) {
	for p := addr / 4096; p <= (addr+uint64(len(b))-1)/4096; p++ {
		if f.holes[p] {
			return 0, fmt.Errorf("hole at %#x", p*4096)
		}
	}
	for base, r := range f.regions {
		if addr >= base && addr+uint64(len(b)) <= base+uint64(len(r)) {
			return copy(b, r[addr-base:]), nil
		}
	}
	return 0, fmt.Errorf("fake: no memory at %#x+%d", addr, len(b))
}

func (f *fakeMem) VMCOREINFO(k string) (string, bool) { v, ok := f.vmci[k]; return v, ok }
func (f *fakeMem) Symbol(n string) (uint64, error) {
	if a, ok := f.syms[n]; ok {
		return a, nil
	}
	return 0, errors.New("no symbol " + n)
}
func (f *fakeMem) MemberOffset(t, m string) (uint64, error) { return 0, errors.New("no types") }
func (f *fakeMem) TypeSize(t string) (uint64, error)        { return 0, errors.New("no types") }

func (f *fakeMem) alloc(addr uint64, n int) []byte {
	b := make([]byte, n)
	f.regions[addr] = b
	return b
}

func (f *fakeMem) keys() []string {
	var k []string
	for x := range f.vmci {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

var le = binary.LittleEndian

// ringBuilder writes a printk_ringbuffer the way the kernel does, with the
// 6.1 x86-64 layout (offsets as the kernel's VMCOREINFO reports them).
type ringBuilder struct {
	f                     *fakeMem
	descBits, dataBits    uint
	prb, descs, infos, td uint64
	descB, infoB, textB   []byte
	headLpos              uint64
	nextID                uint64
	seq                   uint64
}

const (
	descSz = 24  // prb_desc: state_var(8) + text_blk_lpos{begin,next}(16)
	infoSz = 88  // printk_info
	prbSz  = 104 // not needed exactly
)

func newRing(descBits, dataBits uint) *ringBuilder {
	f := newFake()
	rb := &ringBuilder{f: f, descBits: descBits, dataBits: dataBits,
		prb: 0xffffffff82000000, descs: 0xffffffff82100000, infos: 0xffffffff82200000, td: 0xffffffff82300000}
	f.vmci["SYMBOL(prb)"] = "ffffffff81000000"
	le.PutUint64(f.alloc(0xffffffff81000000, 8), rb.prb)
	set := func(k string, v int) { f.vmci[k] = fmt.Sprint(v) }
	set("OFFSET(printk_ringbuffer.desc_ring)", 0)
	set("OFFSET(printk_ringbuffer.text_data_ring)", 48)
	set("OFFSET(prb_desc_ring.count_bits)", 0)
	set("OFFSET(prb_desc_ring.descs)", 8)
	set("OFFSET(prb_desc_ring.infos)", 16)
	set("OFFSET(prb_desc_ring.head_id)", 24)
	set("OFFSET(prb_desc_ring.tail_id)", 32)
	set("OFFSET(atomic_long_t.counter)", 0)
	set("SIZE(prb_desc)", descSz)
	set("OFFSET(prb_desc.state_var)", 0)
	set("OFFSET(prb_desc.text_blk_lpos)", 8)
	set("OFFSET(prb_data_blk_lpos.begin)", 0)
	set("OFFSET(prb_data_blk_lpos.next)", 8)
	set("SIZE(printk_info)", infoSz)
	set("OFFSET(printk_info.seq)", 0)
	set("OFFSET(printk_info.ts_nsec)", 8)
	set("OFFSET(printk_info.text_len)", 16)
	set("OFFSET(printk_info.caller_id)", 20)
	set("OFFSET(printk_info.dev_info)", 24)
	set("OFFSET(dev_printk_info.subsystem)", 0)
	set("LENGTH(printk_info_subsystem)", 16)
	set("OFFSET(dev_printk_info.device)", 16)
	set("LENGTH(printk_info_device)", 48)
	set("OFFSET(prb_data_ring.size_bits)", 0)
	set("OFFSET(prb_data_ring.data)", 8)
	set("OFFSET(prb_data_ring.head_lpos)", 16)
	set("OFFSET(prb_data_ring.tail_lpos)", 24)
	p := f.alloc(rb.prb, prbSz)
	le.PutUint32(p[0:], uint32(descBits))
	le.PutUint64(p[8:], rb.descs)
	le.PutUint64(p[16:], rb.infos)
	le.PutUint32(p[48:], uint32(dataBits))
	le.PutUint64(p[56:], rb.td)
	n := 1 << descBits
	rb.descB = f.alloc(rb.descs, n*descSz)
	rb.infoB = f.alloc(rb.infos, n*infoSz)
	rb.textB = f.alloc(rb.td, 1<<dataBits)
	// Initial state as in the kernel (_DEFINE_PRINTKRB): the last
	// descriptor is reusable with ID DESC0_ID; head = tail = DESC0_ID.
	desc0 := (-(uint64(n) + 1)) & descIDMask
	rb.nextID = (desc0 + 1) & descIDMask
	last := (n - 1) * descSz
	le.PutUint64(rb.descB[last:], desc0|uint64(StateReusable)<<62)
	le.PutUint64(rb.descB[last+8:], 0x3) // NO_LPOS
	le.PutUint64(rb.descB[last+16:], 0x3)
	rb.setIDs(desc0, desc0)
	return rb
}

func (rb *ringBuilder) setIDs(head, tail uint64) {
	p := rb.f.regions[rb.prb]
	le.PutUint64(p[24:], head)
	le.PutUint64(p[32:], tail)
}

// add appends a record; state is the descriptor state to leave it in.
// dataless makes it a FAILED_LPOS record.
func (rb *ringBuilder) add(text string, ts uint64, level uint8, state State, dataless bool) uint64 {
	id := rb.nextID
	rb.nextID = (rb.nextID + 1) & descIDMask
	n := uint64(1) << rb.descBits
	idx := id & (n - 1)
	size := uint64(1) << rb.dataBits
	d := rb.descB[idx*descSz:]
	le.PutUint64(d, id|uint64(state)<<62)
	if dataless {
		le.PutUint64(d[8:], 1)
		le.PutUint64(d[16:], 1)
	} else {
		blk := (8 + uint64(len(text)) + 7) &^ 7
		begin := rb.headLpos
		next := begin + blk
		start := begin % size
		if begin/size != next/size {
			// wrap: data goes to the start of the next wrap
			next = (next/size)*size + blk
			start = 0
		}
		le.PutUint64(rb.textB[start:], id)
		copy(rb.textB[start+8:], text)
		le.PutUint64(d[8:], begin)
		le.PutUint64(d[16:], next)
		rb.headLpos = next
	}
	in := rb.infoB[idx*infoSz:]
	for i := range in[:infoSz] {
		in[i] = 0
	}
	le.PutUint64(in[0:], rb.seq)
	le.PutUint64(in[8:], ts)
	le.PutUint16(in[16:], uint16(len(text)))
	in[19] = level<<5 | 0x2 // LOG_NEWLINE
	le.PutUint32(in[20:], 0x80000001)
	copy(in[24:], "pci")
	copy(in[40:], "+pci:0000:00:01.0")
	rb.seq++
	return id
}
