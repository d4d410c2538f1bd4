package printk

import (
	"fmt"
	"strings"

	"kdive/internal/kernel/kread"
)

// readLegacy reads the variable-length record buffer of Linux 3.5 to 5.9
// (kernel/printk/printk.c before commit 896fbe20b4e2): records
//
//	struct printk_log { u64 ts_nsec; u16 len; u16 text_len; u16 dict_len;
//	                    u8 facility; u8 flags:5; u8 level:3; [u32 caller_id;] }
//
// followed by text_len bytes of text and dict_len bytes of dictionary
// ("KEY=value" strings separated by NULs), laid end to end in log_buf from
// log_first_idx to log_next_idx; a record with len 0 marks the end of the
// buffer and sends the reader back to offset 0.
func readLegacy(src Source) (*Log, error) {
	l := &layout{src: src}
	typ := "printk_log"
	if !has(src, "SIZE(printk_log)") && has(src, "SIZE(log)") {
		typ = "log" // before 3.11 (commit 62e32ac3505a)
	}
	bufVar := l.sym("log_buf")
	lenVar := l.sym("log_buf_len")
	firstVar := l.sym("log_first_idx")
	nextVar := l.sym("log_next_idx")
	hdr := l.size(typ)
	oTs := l.off(typ, "ts_nsec")
	oLen := l.off(typ, "len")
	oTextLen := l.off(typ, "text_len")
	oDictLen := l.off(typ, "dict_len")
	if l.err != nil {
		return nil, l.err
	}
	oFacility := oDictLen + 2 // u8 facility; u8 flags:5; u8 level:3 follow dict_len
	if f, ok := l.optOff(typ, "facility"); ok {
		oFacility = f
	}
	oCaller, hasCaller := l.optOff(typ, "caller_id")
	if hdr < oDictLen+4 || hdr > 256 {
		return nil, fmt.Errorf("printk: implausible SIZE(%s) %d", typ, hdr)
	}

	buf, err := kread.U64(src, bufVar)
	if err != nil {
		return nil, fmt.Errorf("printk: log_buf pointer at %#x: %w", bufVar, err)
	}
	bufLen, err1 := kread.U32(src, lenVar)
	first, err2 := kread.U32(src, firstVar)
	next, err3 := kread.U32(src, nextVar)
	for _, e := range []error{err1, err2, err3} {
		if e != nil {
			return nil, fmt.Errorf("printk: log_buf indexes: %w", e)
		}
	}
	if bufLen == 0 || bufLen > maxLogBuf || first >= bufLen || next >= bufLen {
		return nil, fmt.Errorf("printk: implausible log_buf_len %d, log_first_idx %d, log_next_idx %d", bufLen, first, next)
	}
	c, err := readChunk(src, buf, uint64(bufLen))
	if err != nil {
		return nil, err
	}
	log := &Log{Format: "log_buf"}
	if c.bad != nil {
		log.Warnings = append(log.Warnings, "printk: parts of log_buf are not in the dump")
	}
	// Sequence numbers live in log_first_seq/log_next_seq, which VMCOREINFO
	// does not carry; with them the record count is exact.
	var seq uint64
	count := int64(-1)
	if a, err := src.Symbol("log_first_seq"); err == nil {
		if s, err := kread.U64(src, a); err == nil {
			seq = s
			if b, err := src.Symbol("log_next_seq"); err == nil {
				if ns, err := kread.U64(src, b); err == nil && ns >= s && ns-s <= uint64(bufLen)/hdr+1 {
					count = int64(ns - s)
				}
			}
		}
	}

	idx := uint64(first)
	size := uint64(bufLen)
	maxRecs := size/hdr + 2
	for i := uint64(0); i < maxRecs; i++ {
		if count >= 0 && int64(i) >= count {
			break
		}
		if count < 0 && idx == uint64(next) {
			break
		}
		if idx+hdr > size || c.u16(idx+oLen) == 0 { // end-of-buffer marker
			idx = 0
			if count < 0 && idx == uint64(next) {
				break
			}
		}
		ln := uint64(c.u16(idx + oLen))
		if ln < hdr || idx+ln > size {
			log.Warnings = append(log.Warnings, fmt.Sprintf("printk: bad record length %d at log_buf offset %d", ln, idx))
			break
		}
		tl := uint64(c.u16(idx + oTextLen))
		dl := uint64(c.u16(idx + oDictLen))
		rec := Record{
			State:    StateFinalized,
			Seq:      seq,
			TsNsec:   c.u64(idx + oTs),
			Facility: c.b[idx+oFacility],
			Flags:    c.b[idx+oFacility+1] & 0x1f,
			Level:    c.b[idx+oFacility+1] >> 5,
		}
		if hasCaller && oCaller+4 <= hdr {
			rec.CallerID = c.u32(idx + oCaller)
		}
		if hdr+tl+dl > ln || !c.ok(idx, ln) {
			rec.Lost = true
		} else {
			rec.Text = string(c.b[idx+hdr : idx+hdr+tl])
			for _, kv := range strings.Split(string(c.b[idx+hdr+tl:idx+hdr+tl+dl]), "\x00") {
				if v, ok := strings.CutPrefix(kv, "SUBSYSTEM="); ok {
					rec.Subsystem = v
				} else if v, ok := strings.CutPrefix(kv, "DEVICE="); ok {
					rec.Device = v
				}
			}
		}
		log.Records = append(log.Records, rec)
		seq++
		idx += ln
	}
	return log, nil
}
