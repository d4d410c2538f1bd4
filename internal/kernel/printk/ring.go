package printk

import (
	"fmt"

	"kdive/internal/kernel/kread"
)

// Descriptor state encoding (kernel/printk/printk_ringbuffer.h): the two top
// bits of prb_desc.state_var hold the state, the rest the descriptor ID.
const (
	descFlagsShift = 62
	descIDMask     = ^(uint64(3) << descFlagsShift)
)

// ringLayout holds the struct offsets the ring buffer reader uses.
type ringLayout struct {
	descRing, textRing                      uint64 // in printk_ringbuffer
	countBits, descs, infos, headID, tailID uint64 // in prb_desc_ring
	counter                                 uint64 // atomic_long_t.counter
	descSize, stateVar, textBlk             uint64 // prb_desc
	lposBegin, lposNext                     uint64 // prb_data_blk_lpos
	infoSize, seq, ts, textLen, facility    uint64 // printk_info
	callerID, devInfo                       uint64
	subsys, device                          uint64 // dev_printk_info
	subsysLen, deviceLen                    uint64
	sizeBits, data                          uint64 // prb_data_ring
}

func ringOffsets(src Source) (*ringLayout, uint64, error) {
	l := &layout{src: src}
	r := &ringLayout{}
	prbVar := l.sym("prb")
	r.descRing = l.off("printk_ringbuffer", "desc_ring")
	r.textRing = l.off("printk_ringbuffer", "text_data_ring")
	r.countBits = l.off("prb_desc_ring", "count_bits")
	r.descs = l.off("prb_desc_ring", "descs")
	r.infos = l.off("prb_desc_ring", "infos")
	r.headID = l.off("prb_desc_ring", "head_id")
	r.tailID = l.off("prb_desc_ring", "tail_id")
	r.counter, _ = l.optOff("atomic_long_t", "counter") // 0 when unknown
	r.descSize = l.size("prb_desc")
	r.stateVar = l.off("prb_desc", "state_var")
	r.textBlk = l.off("prb_desc", "text_blk_lpos")
	r.lposBegin = l.off("prb_data_blk_lpos", "begin")
	r.lposNext = l.off("prb_data_blk_lpos", "next")
	r.infoSize = l.size("printk_info")
	r.seq = l.off("printk_info", "seq")
	r.ts = l.off("printk_info", "ts_nsec")
	r.textLen = l.off("printk_info", "text_len")
	r.callerID = l.off("printk_info", "caller_id")
	r.devInfo = l.off("printk_info", "dev_info")
	r.sizeBits = l.off("prb_data_ring", "size_bits")
	r.data = l.off("prb_data_ring", "data")
	if l.err != nil {
		return nil, 0, l.err
	}
	// facility, flags:5 and level:3 follow text_len (struct printk_info:
	// u16 text_len; u8 facility; u8 flags:5; u8 level:3). VMCOREINFO has no
	// entry for them; the types do for facility.
	if f, ok := l.optOff("printk_info", "facility"); ok {
		r.facility = f
	} else {
		r.facility = r.textLen + 2
	}
	r.subsys, _ = l.optOff("dev_printk_info", "subsystem")
	var ok bool
	if r.device, ok = l.optOff("dev_printk_info", "device"); !ok {
		r.device = 16 // char subsystem[16]; char device[48];
	}
	r.subsysLen = l.optLength("printk_info_subsystem", 16)
	r.deviceLen = l.optLength("printk_info_device", 48)
	return r, prbVar, nil
}

func readRing(src Source) (*Log, error) {
	r, prbVar, err := ringOffsets(src)
	if err != nil {
		return nil, err
	}
	prb, err := kread.U64(src, prbVar)
	if err != nil {
		return nil, fmt.Errorf("printk: reading prb pointer at %#x: %w", prbVar, err)
	}
	dr := prb + r.descRing
	bits, err := kread.U32(src, dr+r.countBits)
	if err != nil {
		return nil, fmt.Errorf("printk: prb_desc_ring at %#x: %w", dr, err)
	}
	if bits > maxDescBits {
		return nil, fmt.Errorf("printk: implausible prb_desc_ring.count_bits %d", bits)
	}
	count := uint64(1) << bits
	descsAddr, err1 := kread.U64(src, dr+r.descs)
	infosAddr, err2 := kread.U64(src, dr+r.infos)
	headID, err3 := kread.U64(src, dr+r.headID+r.counter)
	tailID, err4 := kread.U64(src, dr+r.tailID+r.counter)
	tr := prb + r.textRing
	sizeBits, err5 := kread.U32(src, tr+r.sizeBits)
	dataAddr, err6 := kread.U64(src, tr+r.data)
	for _, e := range []error{err1, err2, err3, err4, err5, err6} {
		if e != nil {
			return nil, fmt.Errorf("printk: reading printk_ringbuffer at %#x: %w", prb, e)
		}
	}
	if sizeBits > maxDataBits {
		return nil, fmt.Errorf("printk: implausible prb_data_ring.size_bits %d", sizeBits)
	}
	if r.descSize == 0 || r.infoSize == 0 || r.descSize > 4096 || r.infoSize > 4096 {
		return nil, fmt.Errorf("printk: implausible sizes prb_desc %d printk_info %d", r.descSize, r.infoSize)
	}
	dataSize := uint64(1) << sizeBits

	log := &Log{Format: "printk_ringbuffer"}
	descs, err := readChunk(src, descsAddr, count*r.descSize)
	if err != nil {
		return nil, fmt.Errorf("printk: descriptor ring: %w", err)
	}
	infos, err := readChunk(src, infosAddr, count*r.infoSize)
	if err != nil {
		return nil, fmt.Errorf("printk: info ring: %w", err)
	}
	text, err := readChunk(src, dataAddr, dataSize)
	if err != nil {
		return nil, fmt.Errorf("printk: text data ring: %w", err)
	}
	if descs.bad != nil || infos.bad != nil || text.bad != nil {
		log.Warnings = append(log.Warnings, "printk: parts of the ring buffer are not in the dump")
	}

	headID &= descIDMask
	tailID &= descIDMask
	// IDs from tail to head, both included. A sane ring has fewer than
	// count IDs in use; otherwise read the last count before head.
	n := (headID - tailID) & descIDMask
	if n >= count {
		log.Warnings = append(log.Warnings, fmt.Sprintf("printk: tail_id %#x is %d descriptors behind head_id %#x (ring has %d)", tailID, n, headID, count))
		tailID = (headID - (count - 1)) & descIDMask
		n = count - 1
	}
	id := tailID
	for i := uint64(0); i <= n; i++ {
		if rec, ok := r.record(descs, infos, text, id, count, dataSize, log); ok {
			log.Records = append(log.Records, rec)
		}
		id = (id + 1) & descIDMask
	}
	return log, nil
}

// record decodes descriptor id; ok is false for descriptors that are not
// committed or finalized (reserved, reusable, or recycled for another ID).
func (r *ringLayout) record(descs, infos, text *chunk, id, count, dataSize uint64, log *Log) (Record, bool) {
	idx := id & (count - 1)
	d := idx * r.descSize
	if !descs.ok(d, r.descSize) {
		return Record{}, false
	}
	sv := descs.u64(d + r.stateVar + r.counter)
	if sv&descIDMask != id {
		return Record{}, false // desc_miss: the slot holds another ID
	}
	st := State(sv >> descFlagsShift)
	if st != StateCommitted && st != StateFinalized {
		return Record{}, false
	}
	in := idx * r.infoSize
	if !infos.ok(in, r.infoSize) {
		return Record{}, false
	}
	rec := Record{
		State:    st,
		Seq:      infos.u64(in + r.seq),
		TsNsec:   infos.u64(in + r.ts),
		Facility: infos.b[in+r.facility],
		Flags:    infos.b[in+r.facility+1] & 0x1f,
		Level:    infos.b[in+r.facility+1] >> 5,
		CallerID: infos.u32(in + r.callerID),
	}
	if di := in + r.devInfo; r.devInfo+r.device+r.deviceLen <= r.infoSize {
		rec.Subsystem = cstr(infos.b[di+r.subsys : di+r.subsys+r.subsysLen])
		rec.Device = cstr(infos.b[di+r.device : di+r.device+r.deviceLen])
	}
	textLen := uint64(infos.u16(in + r.textLen))

	begin := descs.u64(d + r.textBlk + r.lposBegin)
	next := descs.u64(d + r.textBlk + r.lposNext)
	// Data-less blocks: FAILED_LPOS (0x1) and NO_LPOS (0x3) have bit 0 set.
	if begin&1 == 1 && next&1 == 1 {
		rec.NoData = true
		return rec, true
	}
	wraps := func(lpos uint64) uint64 { return lpos / dataSize }
	var start, size uint64
	switch {
	case wraps(begin) == wraps(next) && begin < next:
		start, size = begin%dataSize, next-begin
	case wraps(begin+dataSize) == wraps(next):
		// A wrapping block keeps its data at the start of the ring.
		start, size = 0, next%dataSize
	default:
		rec.Lost = true
		log.Warnings = append(log.Warnings, fmt.Sprintf("printk: seq %d: invalid text block %#x..%#x", rec.Seq, begin, next))
		return rec, true
	}
	if begin%8 != 0 || next%8 != 0 || size < 8 || start+size > dataSize || !text.ok(start, size) {
		rec.Lost = true
		return rec, true
	}
	// The block starts with the descriptor ID it belongs to.
	if blkID := text.u64(start); blkID&descIDMask != id {
		rec.Lost = true
		log.Warnings = append(log.Warnings, fmt.Sprintf("printk: seq %d: text block belongs to descriptor %#x, not %#x", rec.Seq, blkID, id))
		return rec, true
	}
	if textLen > size-8 { // truncated message
		textLen = size - 8
	}
	rec.Text = string(text.b[start+8 : start+8+textLen])
	return rec, true
}
